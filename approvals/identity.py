"""Identity numbers: their check characters, and how they are kept (matched, masked, sealed, never plain).

A resident ID number (GB 11643-1999) is 17 digits (region, date of birth, sequence) and a check character
from ISO 7064 MOD 11-2.  A unified social credit code (GB 32100-2015) is 17 characters of a 31-symbol alphabet
(no I, O, Z, S, V) and a check character from MOD 31.  Both are personal data here: stored as an HMAC digest
that matches a number typed again, a masked form, and a copy sealed with Fernet (AES-CBC and HMAC, from
``cryptography``) under keys derived from ``settings.IDENTITY_KEY``; only the holder is shown it unsealed.
"""

from __future__ import annotations

import base64
import datetime as dt
import hmac
from functools import cache
from hashlib import sha256

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from approvals.models import HolderKind

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def resident_id_check(number: str) -> str:
    """The GB 11643 check character of the first 17 digits of ``number``."""
    return _ID_CHECK[sum(int(digit) * weight for digit, weight in zip(number[:17], _ID_WEIGHTS, strict=True)) % 11]


def credit_code_check(code: str) -> str:
    """The GB 32100 check character of the first 17 characters of ``code``."""
    total = sum(_USCC_ALPHABET.index(ch) * weight for ch, weight in zip(code[:17], _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def resident_id_clean(value: str, *, today: dt.date | None = None) -> str:
    """A resident ID number, upper-cased and checked; ``ValidationError`` (code ``invalid_id_number``) says why."""
    number = (value or "").strip().upper()
    if len(number) != 18 or not number[:17].isascii() or not number[:17].isdigit() or number[17] not in "0123456789X":
        raise ValidationError(_("A resident ID number is 17 digits and a check digit or X."), code="invalid_id_number")
    try:
        born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValidationError(_("This resident ID number holds no real date of birth."),
                              code="invalid_id_number") from None
    if number[0] == "0" or born > (today or dt.date.today()) or born.year < 1900:
        raise ValidationError(_("This resident ID number holds no real region or date of birth."),
                              code="invalid_id_number")
    if resident_id_check(number) != number[17]:
        raise ValidationError(_("The check digit of this resident ID number is wrong: check for a typing error."),
                              code="invalid_id_number")
    return number


def credit_code_clean(value: str) -> str:
    """A unified social credit code, upper-cased and checked; ``ValidationError`` (``invalid_credit_code``)."""
    code = (value or "").strip().upper()
    if len(code) != 18 or any(ch not in _USCC_ALPHABET for ch in code):
        raise ValidationError(_("A unified social credit code is 18 characters of digits and capital letters "
                                "(no I, O, Z, S or V)."), code="invalid_credit_code")
    if credit_code_check(code) != code[17]:
        raise ValidationError(_("The check character of this unified social credit code is wrong: check for a "
                                "typing error."), code="invalid_credit_code")
    return code


def identity_clean(kind: str, value: str) -> str:
    return resident_id_clean(value) if kind == HolderKind.PERSON else credit_code_clean(value)


def identity_mask(number: str) -> str:
    """What anyone who sees the holder may read: the first three and the last four characters."""
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


def identity_digest(kind: str, number: str) -> str:
    """A keyed digest that finds the holder of ``number`` without storing the number."""
    return hmac.new(_keys()[0], f"{kind}:{number}".encode(), sha256).hexdigest()


def identity_seal(number: str) -> str:
    return _fernet().encrypt(number.encode()).decode("ascii")


def identity_unseal(sealed: str) -> str | None:
    """The number a holder is shown; None when it cannot be opened (the key changed)."""
    try:
        return _fernet().decrypt(sealed.encode("ascii")).decode()
    except (InvalidToken, ValueError):
        return None


@cache
def _keys() -> tuple[bytes, bytes]:
    master = settings.IDENTITY_KEY.encode()
    derived = HKDF(algorithm=hashes.SHA256(), length=64, salt=None, info=b"onegrid identity numbers").derive(master)
    return derived[:32], derived[32:]


@cache
def _fernet() -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_keys()[1]))
