"""What one can apply for: per electronic licence kind a new licence, a renewal, a change and a cancellation,
each with its materials and how they are proven, and the workflows they run on (stored definitions, so that
the admin edits them as data).  Loaded by a migration and editable in the admin afterwards.

The two real cases are spelled out: the renewal of a private non-enterprise unit's registration (its current
certificate, the social-organisation registry and the education bureau's school records prove everything;
the civil-affairs bureau accepts and approves), and the use of a geographical-indication mark (the district
market-supervision bureau accepts, the provincial IP office examines and announces, the national IP office
files; the authorisation is issued at the announcement and in force once filed).
"""

from __future__ import annotations

#: The offices above the district whose staff hold steps (departments at their level).
OFFICES = {
    "province_ip": ("山东省知识产权局", "Shandong Provincial Intellectual Property Office", "province"),
    "cnipa": ("国家知识产权局", "China National Intellectual Property Administration", "national"),
}


def step(code: str, name: str, organisation: str, role: str, hours: int, level: str = "district") -> dict:
    return {"code": code, "name": name, "organisation": organisation, "role": role, "deadline_hours": hours,
            "level": level}


def _standard(department: str) -> list[dict]:
    return [step("accept", "受理", department, "clerk", 24), step("approve", "审批", department, "director", 120)]


#: key -> (title, steps in order).  Every department's standard procedure: its clerk accepts, its director
#: approves.
WORKFLOWS = {
    **{f"{department}-standard": (f"{department} 标准审批", _standard(department))
       for department in ("approval", "market", "civil", "urban", "emergency", "housing", "water")},
    "gi-mark": ("地理标志专用标志使用核准", [
        step("accept", "受理", "market", "clerk", 48),
        step("review", "审查", "province_ip", "examiner", 240, "province"),
        step("announce", "公告", "province_ip", "director", 120, "province"),
        step("file", "备案", "cnipa", "registrar", 240, "national"),
    ]),
}


def material(code: str, name: str, name_en: str, *proofs: dict, upload: bool = True) -> dict:
    return {"code": code, "name": name, "name_en": name_en, "proofs": list(proofs), "upload_allowed": upload}


def certificate(kind: str) -> dict:
    return {"certificate": kind}


def source(code: str, record: str) -> dict:
    return {"source": code, "record": record}


BUSINESS_LICENCE = material("business_licence", "营业执照", "Business licence",
                            source("enterprise_registry", "business_licence"))
RESIDENT = material("identity", "身份证明", "Proof of identity", source("population_registry", "resident"),
                    upload=False)

#: (licence kind, purpose) -> the materials of that application, where they differ from the defaults below.
SPECIAL = {
    ("private_non_enterprise", "renew"): [
        material("current_certificate", "现登记证书", "Current registration certificate",
                 certificate("private_non_enterprise"), upload=False),
        material("registration_record", "登记管理机关登记信息", "Registration record",
                 source("social_org_registry", "registration")),
        material("school_permit", "办学许可证明", "Proof of the school operating permit",
                 certificate("private_school"), source("school_records", "school")),
    ],
    ("geographical_indication", "new"): [
        BUSINESS_LICENCE,
        material("production_area", "产地范围证明", "Proof of production within the protected area",
                 source("enterprise_registry", "production_site")),
        material("quality_report", "产品质量检验报告", "Product quality test report"),
    ],
}
#: (licence kind, purpose) -> the workflow key, where it is not the issuing department's standard one.
SPECIAL_WORKFLOWS = {("geographical_indication", "new"): ("gi-mark", "announce")}

PURPOSES = {"new": ("申请", "application for"), "renew": ("延续", "renewal of"), "change": ("变更", "change of"),
            "cancel": ("注销", "cancellation of")}


def default_materials(kind_code: str, holders: str, purpose: str) -> list[dict]:
    who = [BUSINESS_LICENCE] if holders == "organisation" else [RESIDENT]
    if purpose == "new":
        return who
    return [material("current_certificate", "现证书", "Current certificate", certificate(kind_code), upload=False),
            *who]


def application_catalogue_load(*, licence_kinds, departments, application_kinds, requirements, definitions,
                               steps) -> int:
    """Create what is missing (by code) with the given models (a migration passes its historical ones):
    the offices above the district, the workflows (version 1 when none exists) and the application kinds of
    every electronic licence kind with their materials; returns how many application kinds there are."""
    for code, (name, name_en, level) in OFFICES.items():
        departments.objects.get_or_create(code=code, defaults={"name": name, "name_en": name_en, "level": level})
    for key, (title, specs) in WORKFLOWS.items():
        if definitions.objects.filter(key=key).exists():
            continue
        definition = definitions.objects.create(key=key, title=title, version=1)
        for position, spec in enumerate(specs, 1):
            steps.objects.create(definition=definition, position=position, **spec)
    count = 0
    for licence in licence_kinds.objects.filter(electronic=True).select_related("department"):
        for purpose, (verb, verb_en) in PURPOSES.items():
            workflow, issue_at = SPECIAL_WORKFLOWS.get((licence.code, purpose),
                                                       (f"{licence.department.code}-standard", ""))
            kind, created = application_kinds.objects.get_or_create(
                code=f"{licence.code}-{purpose}",
                defaults={"licence_kind": licence, "purpose": purpose, "name": f"{licence.name}{verb}",
                          "name_en": f"{verb_en.capitalize()} {licence.name_en[0].lower()}{licence.name_en[1:]}",
                          "workflow_key": workflow, "issue_at_step": issue_at})
            count += 1
            if not created:
                continue
            specs = SPECIAL.get((licence.code, purpose)) or default_materials(licence.code, licence.holders, purpose)
            for position, spec in enumerate(specs, 1):
                requirements.objects.create(application_kind=kind, position=position, **spec)
    return count
