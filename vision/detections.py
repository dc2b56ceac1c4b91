"""What a detector saw in one snapshot, in OneGrid's own terms: the language the rules and the evidence speak.

Boxes and zones are in normalised image coordinates (0..1 from the left and from the top), so a zone drawn
once on a camera's picture holds whatever resolution the camera sends.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _


class ObjectClass(models.TextChoices):
    """The objects the algorithms reason about; each detector maps its own class names onto these."""

    PERSON = "person", _("Person")
    CAR = "car", _("Car")
    BUS = "bus", _("Bus")
    TRUCK = "truck", _("Truck")
    VAN = "van", _("Van")
    MOTORCYCLE = "motorcycle", _("Motorcycle")
    BICYCLE = "bicycle", _("Bicycle")
    TRICYCLE = "tricycle", _("Tricycle")
    TABLE = "table", _("Table")
    CHAIR = "chair", _("Chair")
    UMBRELLA = "umbrella", _("Umbrella")
    STALL = "stall", _("Street stall")
    GARBAGE = "garbage", _("Garbage pile")
    BIN = "bin", _("Bin")
    OVERFLOWING_BIN = "overflowing_bin", _("Overflowing bin")


#: Vehicles a no-parking zone cares about.
VEHICLES = frozenset({ObjectClass.CAR, ObjectClass.BUS, ObjectClass.TRUCK, ObjectClass.VAN,
                      ObjectClass.MOTORCYCLE, ObjectClass.TRICYCLE})
#: What business outside the shop door leaves on the pavement.
STREET_TRADING = frozenset({ObjectClass.STALL, ObjectClass.TABLE, ObjectClass.CHAIR, ObjectClass.UMBRELLA})

Box = tuple[float, float, float, float]  # x1, y1, x2, y2, normalised
Point = tuple[float, float]  # x, y, normalised


@dataclass(frozen=True, slots=True)
class Detection:
    label: str  # an ObjectClass value
    confidence: float
    box: Box

    @property
    def foot(self) -> Point:
        """Where the object stands: the middle of the box's bottom edge (what a zone on the ground contains)."""
        return ((self.box[0] + self.box[2]) / 2, self.box[3])

    @property
    def centre(self) -> Point:
        return ((self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2)
