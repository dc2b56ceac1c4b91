"""The district approval bureau's 33 kinds of licence (24 electronic), and how a kind's typed fields are checked.

The catalogue is reference data, loaded by a migration (``catalogue_load``) and edited afterwards in the admin;
loading again updates the kinds by code and leaves kinds the admin added alone.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

#: Field types and what a value of each is stored as: text, address, choice -> str; date -> ISO date;
#: integer -> int; decimal and area (square metres) -> a string with two decimals.
FIELD_TYPES = ("text", "address", "choice", "date", "integer", "decimal", "area")
TEXT_MAX = 200


def f(name: str, label: str, label_en: str, type: str = "text", *, required: bool = True, **extra) -> dict:
    return {"name": name, "label": label, "label_en": label_en, "type": type, "required": required, **extra}


PREMISES = f("premises", "经营场所", "Business premises", "address")
ADDRESS = f("address", "住所", "Registered address", "address")
SCOPE = f("scope", "业务范围", "Scope of business")
LEGAL_REP = f("legal_representative", "法定代表人", "Legal representative")
AREA = f("area", "面积（平方米）", "Area (m²)", "area")
LOCATION = f("location", "设置地点", "Location", "address")
PROJECT = f("project", "项目名称", "Project")

#: code, name, English name, issuing department, validity in months (None: long-term), electronic, holders,
#: number prefix, fields.
KINDS: list[tuple] = [
    ("food_business", "食品经营许可证", "Food business licence", "approval", 60, True, "organisation", "JY",
     [PREMISES, f("business_form", "主体业态", "Form of business", "choice",
                  choices=["食品销售经营者", "餐饮服务经营者", "单位食堂"]),
      f("items", "经营项目", "Business items")]),
    ("food_production", "食品生产许可证", "Food production licence", "approval", 60, True, "organisation", "SC",
     [f("production_address", "生产地址", "Production address", "address"),
      f("food_categories", "食品类别", "Food categories")]),
    ("small_food_workshop", "食品小作坊登记证", "Small food workshop registration", "market", 36, True, "either",
     "XZF", [PREMISES, f("food_categories", "生产品种", "Products")]),
    ("public_place_hygiene", "公共场所卫生许可证", "Public-place hygiene licence", "approval", 48, True,
     "organisation", "WS", [PREMISES, f("place_type", "场所类别", "Kind of place", "choice",
                                        choices=["住宿场所", "沐浴场所", "美容美发场所", "游泳场所", "文化娱乐场所",
                                                 "培训教学场所"]), AREA]),
    ("private_non_enterprise", "民办非企业单位登记证书",
     "Registration certificate of a private non-enterprise unit", "civil", 60, True, "organisation", "MF",
     [SCOPE, ADDRESS, LEGAL_REP, f("funds", "开办资金（万元）", "Start-up funds (10,000 yuan)", "decimal"),
      f("competent_authority", "业务主管单位", "Competent authority")]),
    ("private_school", "民办学校办学许可证", "Private school operating permit", "approval", 60, True,
     "organisation", "JMB", [f("school_type", "办学类型", "Kind of school", "choice",
                                choices=["非学历文化教育培训", "职业技能培训", "学前教育"]),
                              ADDRESS, f("programmes", "办学内容", "Programmes")]),
    ("social_group", "社会团体法人登记证书", "Registration certificate of a social group", "civil", 60, True,
     "organisation", "ST", [SCOPE, ADDRESS, LEGAL_REP]),
    ("outdoor_advertising", "户外广告设置许可", "Outdoor advertising permit", "urban", 12, True, "organisation",
     "HG", [LOCATION, AREA, f("medium", "形式", "Medium", "choice",
                               choices=["单立柱", "墙面", "屋顶", "电子显示屏", "灯箱"])]),
    ("road_occupation", "临时占用城市道路许可", "Temporary occupation of city roads", "urban", 6, True, "either",
     "ZD", [LOCATION, AREA, f("purpose", "占用用途", "Purpose"),
            f("occupied_from", "占用起始日期", "Occupied from", "date"),
            f("occupied_until", "占用截止日期", "Occupied until", "date")]),
    ("road_excavation", "城市道路挖掘许可", "City road excavation permit", "urban", 3, True, "organisation", "WJ",
     [LOCATION, AREA, PROJECT]),
    ("shop_sign", "门头招牌设置备案", "Shop sign registration", "urban", 36, True, "either", "MZ",
     [LOCATION, AREA]),
    ("geographical_indication", "地理标志专用标志使用核准", "Geographical-indication mark authorisation", "market",
     None, True, "organisation", "DB", [f("product", "产品名称", "Product"),
                                        f("indication", "地理标志名称", "Geographical indication")]),
    ("drug_retail", "药品经营许可证（零售）", "Drug retail licence", "approval", 60, True, "organisation", "YL",
     [PREMISES, f("items", "经营范围", "Scope of business")]),
    ("medical_device_class2", "第二类医疗器械经营备案凭证", "Class II medical device business filing",
     "approval", None, True, "organisation", "XYB", [PREMISES, f("items", "经营范围", "Scope of business")]),
    ("hazardous_chemicals", "危险化学品经营许可证", "Hazardous chemicals business licence", "emergency", 36, True,
     "organisation", "WH", [PREMISES, f("items", "许可范围", "Permitted chemicals"),
                            f("storage", "储存设施", "Storage", required=False)]),
    ("fireworks_retail", "烟花爆竹经营（零售）许可证", "Fireworks retail licence", "emergency", 12, True,
     "either", "YH", [PREMISES, f("storage_limit", "限制存放量（箱）", "Storage limit (cases)", "integer", min=0,
                                  max=10000)]),
    ("construction_permit", "建筑工程施工许可证", "Construction works permit", "housing", None, True,
     "organisation", "SG", [PROJECT, LOCATION, AREA,
                            f("contract_value", "合同价格（万元）", "Contract value (10,000 yuan)", "decimal")]),
    ("construction_waste", "城市建筑垃圾处置核准", "Construction waste disposal approval", "urban", 12, True,
     "organisation", "JL", [PROJECT, f("volume", "处置量（立方米）", "Volume (m³)", "decimal"),
                            f("site", "消纳场所", "Disposal site", "address")]),
    ("drainage", "城镇污水排入排水管网许可证", "Drainage permit", "water", 60, True, "organisation", "PS",
     [PREMISES, f("volume", "排水量（立方米/日）", "Discharge (m³ a day)", "decimal")]),
    ("water_abstraction", "取水许可证", "Water abstraction permit", "water", 60, True, "organisation", "QS",
     [LOCATION, f("volume", "年取水量（万立方米）", "Yearly volume (10,000 m³)", "decimal")]),
    ("tobacco_retail", "烟草专卖零售许可证", "Tobacco retail licence", "market", 60, True, "either", "YC",
     [PREMISES]),
    ("entertainment", "娱乐经营许可证", "Entertainment business licence", "approval", 24, True, "organisation",
     "YY", [PREMISES, f("items", "经营范围", "Scope of business"), AREA]),
    ("internet_culture", "网络文化经营许可证", "Internet culture business licence", "approval", 36, True,
     "organisation", "WW", [ADDRESS, f("items", "经营范围", "Scope of business")]),
    ("pet_dog", "养犬登记证", "Dog registration certificate", "urban", 12, True, "person", "YQ",
     [f("dog_name", "犬名", "Dog's name"), f("breed", "品种", "Breed"),
      f("born", "出生日期", "Born", "date"), f("address", "饲养地址", "Kept at", "address")]),
    # Still issued on paper.
    ("printing", "印刷经营许可证", "Printing business licence", "approval", 72, False, "organisation", "YS",
     [PREMISES, f("items", "经营范围", "Scope of business")]),
    ("animal_clinic", "动物诊疗许可证", "Animal clinic licence", "approval", None, False, "organisation", "DZ",
     [PREMISES, f("items", "诊疗活动范围", "Scope of practice")]),
    ("high_risk_sports", "高危险性体育项目经营许可", "High-risk sports business permit", "approval", 24, False,
     "organisation", "GW", [PREMISES, f("sport", "项目", "Sport")]),
    ("pesticide_business", "农药经营许可证", "Pesticide business licence", "approval", 60, False,
     "organisation", "NY", [PREMISES]),
    ("crop_seeds", "农作物种子生产经营许可证", "Crop seed licence", "approval", 60, False, "organisation", "ZZ",
     [ADDRESS, f("crops", "作物种类", "Crops")]),
    ("tree_felling", "林木采伐许可证", "Tree felling permit", "approval", 6, False, "either", "CF",
     [LOCATION, f("trees", "采伐株数", "Trees", "integer", min=1, max=100000)]),
    ("temporary_building", "临时建设工程规划许可证", "Temporary construction planning permit", "housing", 24,
     False, "organisation", "LJ", [PROJECT, LOCATION, AREA]),
    ("public_fundraising", "公开募捐资格证书", "Public fundraising qualification", "civil", None, False,
     "organisation", "MJ", [ADDRESS]),
    ("travel_agency", "旅行社业务经营许可证", "Travel agency licence", "approval", None, False, "organisation",
     "LXS", [ADDRESS, f("items", "经营范围", "Scope of business")]),
]

#: Departments the catalogue names, created if missing (seed_demo names them the same way).
DEPARTMENTS = {
    "approval": ("行政审批服务局", "Administrative Approval Bureau"),
    "market": ("市场监督管理局", "Market Supervision Bureau"),
    "civil": ("民政局", "Civil Affairs Bureau"),
    "urban": ("城市管理局", "Urban Management Bureau"),
    "emergency": ("应急管理局", "Emergency Management Bureau"),
    "housing": ("住房和城乡建设局", "Housing and Urban-Rural Development Bureau"),
    "water": ("水务局", "Water Affairs Bureau"),
}


def catalogue_load(licence_kinds, departments) -> int:
    """Create or update the catalogue's kinds (by code) with the given models (a migration passes its historical
    ones); returns how many kinds there are in the catalogue."""
    by_code = {}
    for code, (name, name_en) in DEPARTMENTS.items():
        by_code[code], _created = departments.objects.get_or_create(code=code,
                                                                    defaults={"name": name, "name_en": name_en})
    for code, name, name_en, department, months, electronic, holders, prefix, fields in KINDS:
        licence_kinds.objects.update_or_create(code=code, defaults={
            "name": name, "name_en": name_en, "department": by_code[department], "validity_months": months,
            "electronic": electronic, "holders": holders, "number_prefix": prefix, "fields": fields})
    return len(KINDS)


def fields_clean(specs: list[dict], data: dict | None) -> dict:
    """``data`` checked against a kind's field specs and stored typed (see ``FIELD_TYPES``).  Unknown names are
    refused.  Raises ``ValidationError`` by field, with codes ``required``, ``invalid``, ``too_long``,
    ``not_a_choice``, ``out_of_range``, ``unknown_field``."""
    data = dict(data or {})
    errors: dict[str, ValidationError] = {}
    clean: dict = {}
    for spec in specs:
        name = spec["name"]
        value = data.pop(name, None)
        if value is None or (isinstance(value, str) and not value.strip()):
            if spec.get("required", True):
                errors[name] = ValidationError(_("%(field)s is required.") % {"field": spec["label"]},
                                               code="required")
            continue
        try:
            clean[name] = _field_value(spec, value)
        except ValidationError as error:
            errors[name] = error
    for name in data:
        errors[name] = ValidationError(_("This licence has no field %(name)s.") % {"name": name},
                                       code="unknown_field")
    if errors:
        raise ValidationError(errors)
    return clean


def _field_value(spec: dict, value):
    kind = spec.get("type", "text")
    if kind in ("text", "address", "choice"):
        if not isinstance(value, str):
            raise ValidationError(_("Expected text."), code="invalid")
        text = unicodedata.normalize("NFC", value.strip())
        if any(unicodedata.category(ch) == "Cc" for ch in text):
            raise ValidationError(_("Control characters are not allowed."), code="invalid")
        if len(text) > spec.get("max_length", TEXT_MAX):
            raise ValidationError(_("At most %(n)d characters.") % {"n": spec.get("max_length", TEXT_MAX)},
                                  code="too_long")
        if kind == "choice" and text not in spec.get("choices", []):
            raise ValidationError(_("Choose one of: %(choices)s.") % {"choices": "、".join(spec["choices"])},
                                  code="not_a_choice")
        return text
    if kind == "date":
        try:
            return dt.date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise ValidationError(_("A date is written YYYY-MM-DD."), code="invalid") from None
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip().lstrip("-").isascii() \
                or not str(value).strip().lstrip("-").isdigit():
            raise ValidationError(_("Expected a whole number."), code="invalid")
        number = int(value)
        if not spec.get("min", 0) <= number <= spec.get("max", 10 ** 9):
            raise ValidationError(_("Expected %(min)d to %(max)d.") % {"min": spec.get("min", 0),
                                                                      "max": spec.get("max", 10 ** 9)},
                                  code="out_of_range")
        return number
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValidationError(_("Expected a number."), code="invalid") from None
    if not number.is_finite() or number < 0 or number > Decimal("1e9") or (kind == "area" and number == 0):
        raise ValidationError(_("Expected a positive number."), code="out_of_range")
    return str(number.quantize(Decimal("0.01")))
