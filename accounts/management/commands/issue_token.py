from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from accounts.services import token_issue


class Command(BaseCommand):
    help = "Print a new access token for USERNAME (for operators and scripts)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--ttl", type=int, default=None, help="lifetime in seconds (default: ACCESS_TOKEN_TTL_SECONDS)")

    def handle(self, *args, username, ttl, **options):
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"no active user {username!r}")
        if ttl is not None and not 60 <= ttl <= 366 * 24 * 3600:
            raise CommandError("--ttl must be between 60 seconds and a year")
        raw, _token = token_issue(user=user, ttl_seconds=ttl)
        self.stdout.write(raw)
