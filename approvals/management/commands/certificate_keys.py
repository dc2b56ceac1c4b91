"""`manage.py certificate_keys [list | rotate | withdraw --kid=KID --reason TEXT]`: the issuer keys.

A key id is base64url and may begin with "-", which a command line takes for an option: give it as
``--kid=KID`` (a bare ``KID`` works when it does not begin with "-")."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from approvals.keys import signing_key_create, signing_key_withdraw
from approvals.models import SigningKey


class Command(BaseCommand):
    help = "List, rotate or withdraw the keys that sign certificates (private halves in CERTIFICATE_KEY_DIR)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["list", "rotate", "withdraw"], nargs="?", default="list")
        parser.add_argument("kid", nargs="?", help="withdraw: the key id")
        parser.add_argument("--kid", dest="kid_option", default=None,
                            help="withdraw: the key id, as --kid=KID (for one that begins with '-')")
        parser.add_argument("--reason", default="", help="withdraw: why (kept with the key)")

    def handle(self, *args, action: str, kid: str | None, kid_option: str | None, reason: str, **options):
        kid = kid_option or kid
        if action == "rotate":
            key = signing_key_create()
            self.stdout.write(f"{key.kid} signs from now on; the previous key is retired and still verifies.")
        elif action == "withdraw":
            if not kid:
                raise CommandError("withdraw needs the key id")
            try:
                signing_key_withdraw(kid=kid, reason=reason)
            except ValidationError as error:
                raise CommandError("; ".join(error.messages)) from None
            self.stdout.write(f"{kid} withdrawn: everything it signed now verifies as INVALID.")
        for key in SigningKey.objects.order_by("created_at"):
            self.stdout.write(f"{key.kid}  {key.algorithm}  {key.state:9}  {key.certificates.count():6} certificates"
                              f"  {key.withdrawn_reason}")
