"""The envelope: COSE bytes <-> zlib <-> Base45 <-> a prefixed text, and the text inside a scanned URL.

Every step is bounded before it runs: a code longer than a QR code can hold is refused unread, and zlib may not
inflate past ``MAX_COSE_BYTES`` (a zip bomb stops there).  CBOR's own bombs (deep nesting, lengths larger than
the data) are refused by cbor2's decoder, which caps nesting and reads lengths against what is there.
"""

from __future__ import annotations

import zlib
from urllib.parse import parse_qs, quote, unquote, urlsplit

import base45

from certkit.b45 import b45decode

#: OneGrid's prefix (version 1 of its certificate code); the EU's is ``HC1:``.
DEFAULT_PREFIX = "OG1:"
#: The most characters a QR code holds in its alphanumeric mode (version 40, level L): a longer text is no code.
MAX_CODE_CHARS = 4296
#: The most bytes a code may inflate to.
MAX_COSE_BYTES = 16384
#: Characters of Base45 that cannot stand in a URL's path as they are: percent-encoded (in the QR code's own
#: alphanumeric alphabet, so a URL stays as compact as the bare code). "/" too, so that no "/./" or "/../"
#: in a code is ever folded away by a browser.
_URL_UNSAFE = " %/"


class CodeError(ValueError):
    """A text that is no code of this shape; ``reason`` says which step failed (``too_large``, ``wrong_prefix``,
    ``not_base45``, ``not_zlib``, ``too_large_inflated``)."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def envelope_encode(cose: bytes, *, prefix: str = DEFAULT_PREFIX) -> str:
    """The code of signed COSE bytes: ``prefix`` + Base45(zlib(cose))."""
    return prefix + base45.b45encode(zlib.compress(cose, 9)).decode("ascii")


def envelope_decode(code: str, *, prefix: str = DEFAULT_PREFIX) -> bytes:
    """The COSE bytes inside ``code``; raises ``CodeError`` with the step that failed."""
    if len(code) > MAX_CODE_CHARS + len(prefix):
        raise CodeError("too_large", f"{len(code)} characters")
    if not code.startswith(prefix):
        raise CodeError("wrong_prefix", code[: len(prefix)])
    try:
        compressed = b45decode(code[len(prefix):])
    except (ValueError, UnicodeError) as error:
        raise CodeError("not_base45", str(error)) from None
    inflater = zlib.decompressobj()
    try:
        cose = inflater.decompress(compressed, MAX_COSE_BYTES)
    except zlib.error as error:
        raise CodeError("not_zlib", str(error)) from None
    if inflater.unconsumed_tail:
        raise CodeError("too_large_inflated", f"more than {MAX_COSE_BYTES} bytes")
    if not inflater.eof:
        raise CodeError("not_zlib", "truncated")
    return cose


def code_url(code: str, *, base: str) -> str:
    """The URL a QR code carries: ``base`` (e.g. ``HTTPS://ONEGRID.EXAMPLE/V/``) and the code, with the three
    characters of Base45 that a path cannot hold percent-encoded.  Upper case throughout keeps the whole URL in
    the QR code's compact alphanumeric mode; scheme and host are case-insensitive."""
    return base + quote(code, safe="".join(ch for ch in _ALPHABET if ch not in _URL_UNSAFE))


def code_from_text(text: str, *, prefix: str = DEFAULT_PREFIX) -> str:
    """The code in whatever reached a verifier: the bare code, the QR code's URL (as a camera app opens it or as
    a browser shows it, percent-encoded), or a ``?code=`` link; surrounding whitespace ignored.  The text is
    returned as it is (stripped) when no URL holds a code, so the verdict says what is wrong with it."""
    text = text.strip()
    if len(text) > 2 * MAX_CODE_CHARS or text.startswith(prefix) or "://" not in text[:16]:
        return text
    try:
        parts = urlsplit(text)
    except ValueError:
        return text
    for value in parse_qs(parts.query).get("code", []):
        return value.strip()
    path = unquote(parts.path)
    at = path.find(prefix)
    return path[at:] if at >= 0 else text


_ALPHABET = base45.BASE45_CHARSET
