"""factory_boy factories for the foundation's models."""

from __future__ import annotations

import factory
from shapely.geometry import box, mapping

from accounts.models import BusinessCapacity, Department, Role, User
from gridapp.geography.models import Community, Generation, Grid, IndustryGrid, Street


def current_generation() -> Generation:
    return Generation.objects.order_by("-id").first() or Generation.objects.create(description="test district")


def square(lng: float, lat: float, size: float = 0.01):
    return box(lng, lat, lng + size, lat + size)


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"dept{n}")
    name = factory.Sequence(lambda n: f"部门{n}")
    name_en = factory.Sequence(lambda n: f"Department {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.CITIZEN
    display_name = factory.LazyAttribute(lambda o: o.username.title())
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def saved(obj, create, extracted, **kwargs):
        if create:
            obj.save()

    class Params:
        business = factory.Trait(role=Role.BUSINESS, business_capacity=BusinessCapacity.AUTHORISED_AGENT)


class _AreaFactory(factory.django.DjangoModelFactory):
    class Meta:
        abstract = True

    class Params:
        lng = 120.30
        lat = 36.00
        size = 0.01

    boundary = factory.LazyAttribute(lambda o: mapping(square(o.lng, o.lat, o.size)))
    generation_low = factory.LazyFunction(current_generation)
    min_lng = factory.SelfAttribute("lng")
    min_lat = factory.SelfAttribute("lat")
    max_lng = factory.LazyAttribute(lambda o: o.lng + o.size)
    max_lat = factory.LazyAttribute(lambda o: o.lat + o.size)


class StreetFactory(_AreaFactory):
    class Meta:
        model = Street

    code = factory.Sequence(lambda n: f"TS{n:02d}")
    name = factory.Sequence(lambda n: f"测试街道{n}")


class CommunityFactory(_AreaFactory):
    class Meta:
        model = Community

    code = factory.Sequence(lambda n: f"TC{n:02d}")
    name = factory.Sequence(lambda n: f"测试社区{n}")
    street = factory.SubFactory(StreetFactory)


class GridFactory(_AreaFactory):
    class Meta:
        model = Grid

    code = factory.Sequence(lambda n: f"TG{n:03d}")
    name = factory.Sequence(lambda n: f"测试网格{n}")
    community = factory.SubFactory(CommunityFactory)
    centroid_lng = factory.LazyAttribute(lambda o: o.lng + o.size / 2)
    centroid_lat = factory.LazyAttribute(lambda o: o.lat + o.size / 2)


class IndustryGridFactory(_AreaFactory):
    class Meta:
        model = IndustryGrid

    code = factory.Sequence(lambda n: f"TI{n:03d}")
    name = factory.Sequence(lambda n: f"测试行业网格{n}")
    department = factory.SubFactory(DepartmentFactory)


def jpeg_bytes(*, size=(640, 480), color=(90, 140, 60), gps: tuple[float, float] | None = None) -> bytes:
    """A real JPEG as a phone sends it; with ``gps`` (lng, lat) its EXIF carries the position."""
    import io
    from fractions import Fraction

    from PIL import ExifTags, Image

    def dms(value: float):
        value = abs(value)
        degrees = int(value)
        minutes = int((value - degrees) * 60)
        seconds = Fraction(round(((value - degrees) * 60 - minutes) * 60 * 1000), 1000)
        return (Fraction(degrees), Fraction(minutes), seconds)

    exif = Image.Exif()
    if gps is not None:
        lng, lat = gps
        exif.get_ifd(ExifTags.IFD.GPSInfo).update(
            {1: "N" if lat >= 0 else "S", 2: dms(lat), 3: "E" if lng >= 0 else "W", 4: dms(lng)})
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG", exif=exif.tobytes())
    return buffer.getvalue()
