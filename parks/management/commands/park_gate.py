"""Enrol an offline gate: its key made here, its public half kept by OneGrid, and a folder to copy to the gate.

    manage.py park_gate enrol --park software-park --gate A-door --out /media/usb/A-door [--mqtt-url mqtt://...]

The folder holds ``gate-key.pem`` (the gate's private key: it signs the logs it uploads; nothing else has it),
``park-jwks.json`` (the park's keys, which the gate trusts from then on), and ``gate.json`` (the config, with the
gate's current rule so that it decides from its first minute); the gate runs ``python -m passkit.gate --config
gate.json``.  Enrolling again replaces the key: a stolen or replaced gate's old key is refused from then on.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from parks.keys import park_jwks
from parks.models import Gate
from parks.services import gate_enrol, gate_rule


class Command(BaseCommand):
    help = "Enrol an offline gate: make its key and the folder of files it runs with."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        enrol = sub.add_parser("enrol", help="make the gate's key and its folder")
        enrol.add_argument("--park", required=True)
        enrol.add_argument("--gate", required=True)
        enrol.add_argument("--out", required=True, help="a new folder for the gate's files")
        enrol.add_argument("--server-url", default=settings.PUBLIC_URL)
        enrol.add_argument("--mqtt-url", default=settings.PARK_MQTT_URL)

    def handle(self, *args, action: str, park: str, gate: str, out: str, server_url: str, mqtt_url: str, **options):
        found = Gate.objects.select_related("park", "building").filter(park__code=park, code=gate).first()
        if found is None:
            raise CommandError(f"no gate {gate!r} in park {park!r}")
        folder = Path(out)
        try:
            folder.mkdir(parents=True, mode=0o700)
        except FileExistsError:
            raise CommandError(f"{folder} exists: give a new folder (a gate's key is never written over)") from None
        private = ed25519.Ed25519PrivateKey.generate()
        descriptor = os.open(folder / "gate-key.pem", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()))
        gate_enrol(gate=found, public_key=private.public_key())
        (folder / "park-jwks.json").write_text(json.dumps(park_jwks(park=found.park), indent=2))
        config = {"park": park, "gate": gate, "key": "gate-key.pem", "jwks": "park-jwks.json", "data_dir": "state",
                  "server_url": server_url, "mqtt_url": mqtt_url, "prefix": settings.PARK_MQTT_PREFIX,
                  "sync_seconds": 10, "rule": gate_rule(found).as_dict()}
        (folder / "gate.json").write_text(json.dumps(config, indent=2, ensure_ascii=False))
        self.stdout.write(self.style.SUCCESS(f"gate {park}/{gate} enrolled; copy {folder} to the gate and run "
                                             f"`python -m passkit.gate --config gate.json` there"))
