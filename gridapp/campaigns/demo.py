"""The demo's campaign: clearing the illegal structures and the destroyed or occupied green space of the district's
nine hill parks, its two inspection rounds listed and its work done, so that its ledger reads as the real
campaign's report did: 20 illegal structures demolished, 741 m²; 11 green-space cases rectified, 670 m² (and two
cases still being worked).  Only seed_demo (and the tests) use this."""

from __future__ import annotations

from datetime import date

from django.contrib.auth import get_user_model

from gridapp.campaigns.models import Campaign, CampaignPlace, CaseOutcome, CaseType, RoundKind
from gridapp.campaigns.services import case_act, case_record, round_open
from gridapp.campaigns.workflow import Action
from gridapp.geography.models import Grid
from gridapp.incidents.models import EventCategory

CODE = "hill-parks"
HILLS = ["浮山", "太平山", "青岛山", "贮水山", "信号山", "观象山", "小鱼山", "八关山", "老虎山"]
HILLS_EN = ["Fushan", "Taiping Hill", "Qingdao Hill", "Zhushui Hill", "Signal Hill", "Guanxiang Hill", "Xiaoyu Hill",
            "Baguan Hill", "Laohu Hill"]
#: The areas of the 20 structures (741 m² in all) and of the 11 green-space cases (670 m²).
STRUCTURES = [52.0, 18.5, 35.0, 60.0, 24.0, 41.5, 30.0, 16.0, 47.0, 38.0, 27.5, 55.0, 22.0, 44.0, 33.0, 29.5, 48.0,
              36.0, 26.0, 58.0]
GREEN = [80.0, 45.0, 62.5, 70.0, 38.0, 55.5, 91.0, 47.0, 66.0, 52.0, 63.0]
UNITS = ["市北区城市管理局", "山头公园管理处", "所在社区居委会", "区园林绿化中心"]
SPACING = 0.0006  # about 55 to 65 m: cases of one place stand apart, further than the same-case distance


def demo_campaign_create() -> Campaign:
    """Create the campaign once (a second call returns it as it is)."""
    found = Campaign.objects.filter(code=CODE).first()
    if found is not None:
        return found
    operator = get_user_model().objects.filter(username="operator").first()
    campaign = Campaign.objects.create(code=CODE, name="九座山头公园违建清理整治", name_en="Nine hill parks clean-up",
                                       started_on=date(2026, 3, 1),
                                       description="清理九座山头公园内的违法建筑和毁绿占绿问题，两轮排查、整治后回头看。")
    campaign.event_categories.set(EventCategory.objects.filter(code="01-01"))  # 私搭乱建: an incident raises a case
    grids = list(Grid.objects.current().order_by("code")[:: max(1, Grid.objects.current().count() // 9)][:9])
    places = []
    for n, name in enumerate(HILLS):
        grid = grids[n % len(grids)]
        places.append(CampaignPlace.objects.create(campaign=campaign, name=name, name_en=HILLS_EN[n],
                                                   lng=grid.centroid_lng, lat=grid.centroid_lat, radius_m=300))
    structure = CaseType.objects.create(campaign=campaign, code="illegal_structure", name="违法建筑",
                                        name_en="Illegal structure", outcome=CaseOutcome.DEMOLISHED)
    green = CaseType.objects.create(campaign=campaign, code="green_space", name="毁绿占绿",
                                    name_en="Destroyed or occupied green space", outcome=CaseOutcome.RECTIFIED)
    cases = [(structure, area) for area in STRUCTURES] + [(green, area) for area in GREEN]
    cases += [(structure, 21.0), (green, 30.0)]  # listed in the second round, still being worked
    listed = []
    for round_number, batch in enumerate((cases[:26], cases[26:]), start=1):
        round_open(actor=operator, campaign=campaign, kind=RoundKind.INSPECTION)
        for index, (case_type, area) in enumerate(batch):
            n = index + 26 * (round_number - 1)
            place = places[n % len(places)]
            slot = n // len(places)
            lng = place.lng + SPACING * (slot % 2 * 2 - 1)
            lat = place.lat + SPACING * (slot // 2 * 2 - 1) + SPACING * 0.3 * (case_type == green)
            household = f"{place.name}{'东西南北'[slot % 4]}侧{('简易房', '铁皮棚', '菜地', '硬化地面')[n % 4]}"
            recorded = case_record(actor=operator, campaign=campaign, type_code=case_type.code, lng=lng, lat=lat,
                                   area_m2=area, site=household, responsible_unit=UNITS[n % len(UNITS)],
                                   new_case=True)
            listed.append(recorded.case)
        if round_number == 2:  # the second round finds three of the first round's cases again: the same cases
            for again in listed[:3]:
                case_record(actor=operator, campaign=campaign, type_code=again.case_type.code, lng=again.lng,
                            lat=again.lat, area_m2=again.area_m2, site=again.site,
                            responsible_unit=again.responsible_unit, same_as=again.pk)
    for case in listed[:31]:
        for action in (Action.AGREE_PLAN, Action.START, Action.FINISH):
            case_act(actor=operator, case_id=case.pk, action=action)
    case_act(actor=operator, case_id=listed[31].pk, action=Action.AGREE_PLAN)
    for action in (Action.AGREE_PLAN, Action.START):
        case_act(actor=operator, case_id=listed[32].pk, action=action)
    return campaign
