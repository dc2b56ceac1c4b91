"""Private signing keys as files: one PEM per key id, mode 0600, in a directory that production mounts.

The database never holds a private key, so no staff role that reads rows can read one.  Used by the issuers of
certificates (``approvals.keys``) and of park passes (``parks.keys``).
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization


def key_file_write(directory: Path, kid: str, private) -> Path:
    """Write ``private`` (a ``cryptography`` private key) as ``<directory>/<kid>.pem``; ``FileExistsError`` if a
    key of that id is there already (a key id is its public key's thumbprint: never two)."""
    path = key_file_path(directory, kid)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)
    return path


def key_file_path(directory: Path, kid: str) -> Path:
    if not kid or "/" in kid or kid.startswith("."):
        raise ValueError(f"not a key id: {kid!r}")
    return Path(directory) / f"{kid}.pem"
