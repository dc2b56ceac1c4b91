"""Chinese licence plates (GA 36-2018): normalising what a person typed or a reader read, and telling a plate from
a string that only looks like one.  Pure functions, no database.

* ordinary (blue, yellow): province, issuing-office letter, five letters or digits (no I, no O): 鲁B12345;
* new energy (green, eight characters): province, office letter, then for a small vehicle an energy letter (D, A,
  B, C, E: battery; F, G, H, J, K: hybrid and others) and five more, the last four digits (鲁BD12345, 鲁BFA1234);
  for a large vehicle five digits and the energy letter last (鲁B12345D);
* the same with a usage character last: 学 (driving school), 警 (police), 挂 (trailer), 港 / 澳 (a Hong Kong or
  Macau car crossing into Guangdong), 领 (consulate), 使 in front of embassy plates (使123456).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_LETTER = "A-HJ-NP-Z"  # no I, no O: they read as 1 and 0
_SERIAL = f"[{_LETTER}0-9]"
_ENERGY = "DABCEFGHJK"

KINDS = {
    "ordinary": re.compile(f"[{PROVINCES}][{_LETTER}]{_SERIAL}{{5}}"),
    "new_energy_small": re.compile(f"[{PROVINCES}][{_LETTER}][{_ENERGY}]{_SERIAL}[0-9]{{4}}"),
    "new_energy_large": re.compile(f"[{PROVINCES}][{_LETTER}][0-9]{{5}}[{_ENERGY}]"),
    "special": re.compile(f"[{PROVINCES}][{_LETTER}]{_SERIAL}{{4}}[学警挂港澳领]"),
    "embassy": re.compile("使[0-9]{6}"),
}

#: What people and readers put between the parts of a plate: spaces, dots, dashes.
_SEPARATORS = re.compile(r"[\s·•.\-_]+")


class PlateInvalid(ValueError):
    """Not a Chinese plate; ``code`` says why (``empty``, ``length``, ``province``, ``format``)."""

    def __init__(self, code: str, message):
        super().__init__(str(message))
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Plate:
    text: str
    kind: str  # a key of KINDS

    @property
    def new_energy(self) -> bool:
        return self.kind.startswith("new_energy")


def plate_normalise(text: str) -> str:
    """Upper case, half-width letters and digits, separators gone: ``"鲁 b·12345"`` -> ``"鲁B12345"``."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text or "")).upper()


def plate_parse(text: str) -> Plate:
    """The plate ``text`` names (normalised first), or ``PlateInvalid`` with a translated message."""
    plate = plate_normalise(text)
    if not plate:
        raise PlateInvalid("empty", _("Enter the plate number."))
    if len(plate) not in (7, 8):
        raise PlateInvalid("length", _("A plate number has 7 characters (8 for a new-energy vehicle)."))
    if plate[0] not in PROVINCES and plate[0] != "使":
        raise PlateInvalid("province", _("A plate number starts with the province's character, such as 鲁."))
    for kind, pattern in KINDS.items():
        if pattern.fullmatch(plate):
            return Plate(text=plate, kind=kind)
    raise PlateInvalid("format", _("%(plate)s is not a valid plate number.") % {"plate": plate})


def plate_valid(text: str) -> bool:
    try:
        plate_parse(text)
    except PlateInvalid:
        return False
    return True
