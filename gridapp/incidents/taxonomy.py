"""The merged event taxonomy seeded into ``EventCategory``.

Major classes 01-06 follow the city-operations platform (urban management, in
the style of the digital urban-management standard's event classes); 11-15
come from the social-governance grid platform (community affairs).  Each entry
names the responsible department and the hours for accepting, dispatching,
handling and verifying; staff edit all of it in the admin afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

#: major code -> (Chinese name, English name, platform)
MAJORS = {
    "01": ("市容环境", "City appearance and environment", "city"),
    "02": ("宣传广告", "Advertising", "city"),
    "03": ("施工管理", "Construction sites", "city"),
    "04": ("突发事件", "Emergencies on public facilities", "city"),
    "05": ("街面秩序", "Street order", "city"),
    "06": ("市政设施", "Municipal facilities", "city"),
    "11": ("矛盾纠纷", "Disputes", "social"),
    "12": ("安全隐患", "Safety hazards", "social"),
    "13": ("特殊人群服务", "Care for people in need", "social"),
    "14": ("社区事务", "Community affairs", "social"),
    "15": ("市场监管", "Market supervision", "social"),
}


@dataclass(frozen=True)
class Entry:
    code: str
    name: str
    name_en: str
    department: str
    severity: str = "normal"
    photo_required: bool = True
    hours: tuple[int, int, int, int] = (2, 2, 24, 24)  # accept, dispatch, handle, verify


URGENT = (1, 1, 4, 12)
QUICK = (2, 2, 8, 24)
SLOW = (4, 4, 72, 48)

CATEGORIES = [
    Entry("01-01", "私搭乱建", "Unauthorised structure", "urban", hours=SLOW),
    Entry("01-02", "暴露垃圾", "Exposed garbage", "sanitation", hours=QUICK),
    Entry("01-03", "积存垃圾渣土", "Piled garbage and muck", "sanitation", hours=QUICK),
    Entry("01-04", "道路不洁", "Dirty road", "sanitation", hours=QUICK),
    Entry("01-05", "水域不洁", "Dirty water surface", "water"),
    Entry("01-06", "绿地脏乱", "Littered green space", "sanitation"),
    Entry("01-07", "垃圾箱满溢", "Overflowing bin", "sanitation", hours=QUICK),
    Entry("01-08", "焚烧垃圾树叶", "Burning garbage or leaves", "urban", "high", hours=URGENT),
    Entry("01-09", "毁坏绿地", "Destroyed green space", "urban", hours=SLOW),
    Entry("01-10", "侵占绿地", "Occupied green space", "urban", hours=SLOW),
    Entry("01-11", "动物尸体", "Dead animal", "sanitation", hours=QUICK),
    Entry("02-01", "非法小广告", "Illegal small advertisement", "urban"),
    Entry("02-02", "违规张贴悬挂", "Unauthorised posting or banner", "urban"),
    Entry("02-03", "广告招牌破损", "Damaged advertising sign", "urban", "high", hours=QUICK),
    Entry("02-04", "违规户外广告", "Unauthorised outdoor advertisement", "urban", hours=SLOW),
    Entry("02-05", "街头散发广告", "Leaflets handed out in the street", "urban", photo_required=False),
    Entry("03-01", "施工扰民", "Construction noise", "housing", photo_required=False),
    Entry("03-02", "工地扬尘", "Dust from a construction site", "housing"),
    Entry("03-03", "道路遗撒", "Spillage on the road", "urban", hours=QUICK),
    Entry("03-04", "违规占道施工", "Unauthorised roadworks", "urban"),
    Entry("03-05", "施工废弃料", "Construction waste left behind", "housing"),
    Entry("03-06", "夜间违规施工", "Construction at night without a permit", "housing", photo_required=False),
    Entry("04-01", "路面塌陷", "Road collapse", "emergency", "urgent", hours=URGENT),
    Entry("04-02", "自来水管破裂", "Burst water main", "water", "urgent", hours=URGENT),
    Entry("04-03", "燃气管道破裂", "Broken gas pipe", "emergency", "urgent", hours=URGENT),
    Entry("04-04", "下水道堵塞或破损", "Blocked or broken sewer", "water", "high", hours=QUICK),
    Entry("04-05", "道路积水", "Flooded road", "water", "high", hours=URGENT),
    Entry("04-06", "道路积雪结冰", "Snow or ice on the road", "urban", "high", hours=URGENT),
    Entry("04-07", "井盖缺失", "Missing manhole cover", "urban", "urgent", hours=URGENT),
    Entry("04-08", "树木倒伏", "Fallen tree", "urban", "high", hours=URGENT),
    Entry("05-01", "无照经营游商", "Unlicensed street vendor", "urban"),
    Entry("05-02", "店外经营", "Business outside the shop door", "urban"),
    Entry("05-03", "占道废品收购", "Scrap collection on the road", "urban"),
    Entry("05-04", "机动车乱停放", "Illegally parked vehicle", "urban", hours=QUICK),
    Entry("05-05", "非机动车乱停放", "Bicycles parked in the way", "urban", hours=QUICK),
    Entry("05-06", "露天烧烤", "Open-air barbecue", "urban"),
    Entry("05-07", "乱堆物堆料", "Materials piled in public space", "urban"),
    Entry("05-08", "人员聚集", "Crowd gathering", "urban", "high", hours=URGENT),
    Entry("05-09", "重点区域人流超限", "Too many people in a key area", "emergency", "high", False, URGENT),
    Entry("05-10", "沿街晾挂", "Laundry hung along the street", "urban"),
    Entry("06-01", "路灯不亮", "Street light out", "urban"),
    Entry("06-02", "道路破损", "Damaged road surface", "urban", hours=SLOW),
    Entry("06-03", "护栏破损", "Damaged railing", "urban"),
    Entry("06-04", "公共座椅破损", "Damaged public bench", "urban", hours=SLOW),
    Entry("06-05", "交通标志破损", "Damaged traffic sign", "urban"),
    Entry("06-06", "公厕设施损坏", "Public toilet out of order", "sanitation"),
    Entry("06-07", "监控摄像头故障", "Surveillance camera out of order", "urban", photo_required=False, hours=QUICK),
    Entry("06-08", "智能水表离线", "Smart water meter silent", "water", photo_required=False, hours=QUICK),
    Entry("11-01", "邻里纠纷", "Dispute between neighbours", "civil", photo_required=False, hours=SLOW),
    Entry("11-02", "物业纠纷", "Dispute with a property manager", "housing", photo_required=False, hours=SLOW),
    Entry("11-03", "劳资纠纷", "Wage dispute", "civil", "high", False, SLOW),
    Entry("11-04", "家庭纠纷", "Family dispute", "civil", photo_required=False, hours=SLOW),
    Entry("11-05", "消费纠纷", "Consumer dispute", "market", photo_required=False, hours=SLOW),
    Entry("12-01", "消防通道堵塞", "Blocked fire lane", "emergency", "high", hours=URGENT),
    Entry("12-02", "电动车违规充电", "Electric bike charged indoors or in corridors", "emergency", "high", hours=QUICK),
    Entry("12-03", "燃气使用隐患", "Unsafe gas use", "emergency", "high", hours=QUICK),
    Entry("12-04", "危房隐患", "Dangerous building", "housing", "urgent", hours=URGENT),
    Entry("12-05", "高空坠物隐患", "Risk of objects falling from height", "housing", "high", hours=QUICK),
    Entry("12-06", "群租房隐患", "Overcrowded rental flat", "housing", "high"),
    Entry("12-07", "山体滑坡隐患", "Risk of landslide", "emergency", "urgent", hours=URGENT),
    Entry("13-01", "独居老人关爱", "Check on an elderly person living alone", "civil", "high", False, QUICK),
    Entry("13-02", "独居老人用水异常", "Unusual water use by an elderly person living alone", "civil", "urgent", False,
          URGENT),
    Entry("13-03", "困难群众救助", "Help for a family in hardship", "civil", photo_required=False, hours=SLOW),
    Entry("13-04", "残疾人帮扶", "Support for a person with a disability", "civil", photo_required=False, hours=SLOW),
    Entry("13-05", "独居老人家中疑似漏水", "Possible leak or tap left open at an elderly person's home", "civil", "high",
          False, URGENT),
    Entry("14-01", "噪声扰民", "Noise nuisance", "urban", photo_required=False),
    Entry("14-02", "宠物扰民", "Nuisance from pets", "urban", photo_required=False),
    Entry("14-03", "楼道堆物", "Items piled in a stairwell", "housing"),
    Entry("14-04", "小区环境卫生", "Dirty residential compound", "sanitation"),
    Entry("14-05", "违规养殖", "Livestock kept in a residential area", "urban"),
    Entry("15-01", "无证无照经营", "Business without a licence", "market"),
    Entry("15-02", "食品安全隐患", "Food safety risk", "market", "high", hours=QUICK),
    Entry("15-03", "价格违法", "Illegal pricing", "market", photo_required=False),
    Entry("15-04", "九小场所消防隐患", "Fire risk in a small place", "emergency", "high", hours=QUICK),
]
