"""Base45 decoding (RFC 9285) fast enough for a gate: the ``base45`` package's pure-Python loop costs about 60 us
for a 460-character code on our machines, more than half of what a whole verification may cost; this one asks
numpy to do the arithmetic over all the triples at once (about 9 us).  Encoding stays the package's
(``base45.b45encode``): issuers encode once, verifiers decode at every scan.

``tests/passkit/test_b45.py`` holds it to the package's answers, valid and invalid.
"""

from __future__ import annotations

import numpy as np

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_INVALID = 255
_VALUES = bytearray([_INVALID] * 256)
for _index, _char in enumerate(ALPHABET):
    _VALUES[ord(_char)] = _index
_VALUES = bytes(_VALUES)
_WEIGHTS = np.array([1, 45, 45 * 45], dtype=np.uint32)


def b45decode(text: str | bytes) -> bytes:
    """The bytes ``text`` encodes; ``ValueError`` for a character outside the alphabet, a dangling character or
    a group worth more than its bytes can hold (as ``base45.b45decode``)."""
    try:
        raw = (text.encode("ascii") if isinstance(text, str) else bytes(text)).translate(_VALUES)
    except UnicodeEncodeError:
        raise ValueError("Invalid base45 string") from None
    full, rest = divmod(len(raw), 3)
    if rest == 1 or _INVALID in raw:
        raise ValueError("Invalid base45 string")
    words = np.frombuffer(raw, np.uint8, full * 3).reshape(-1, 3) @ _WEIGHTS
    if full and int(words.max()) > 0xFFFF:
        raise ValueError("Invalid base45 string")
    decoded = words.astype(">u2").tobytes()
    if rest:
        last = raw[-2] + raw[-1] * 45
        if last > 0xFF:
            raise ValueError("Invalid base45 string")
        decoded += bytes((last,))
    return decoded
