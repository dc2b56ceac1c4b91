"""The service board's Chinese search: the term index (``parks.board.board_search``) against a LIKE over every post,
the same queries on the same posts in one run, on PostgreSQL.

``--posts`` (50,000) offers and needs written from a vocabulary of the park's trades (each 60 to 200 characters:
trade words many posts share, names only a few carry), indexed as ``post_publish`` indexes them; then ``--queries`` searches people type (two to
six characters, common and rare, Chinese and latin), each run both ways ``--rounds`` times in turn.  Both ways must
find the same posts (checked for every query).  Prints p50 and p99 of each, with bootstrap 95% intervals.
Target: index p99 <= 50 ms (PASS only when the whole interval is under it).

    .venv/bin/python bench/board.py [--posts 50000] [--queries 40] [--rounds 5]

Needs PostgreSQL (a scratch database of this run, dropped at the end).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402

P99_TARGET_MS = 50.0
WORDS = ("软件开发 小程序 管理系统 数据分析 人工智能 视觉算法 嵌入式 硬件设计 电路板 模具 注塑 零件加工 物流配送 仓储 "
         "冷链 包装 印刷 广告设计 品牌策划 短视频 直播 电商运营 财务代理 记账报税 知识产权 专利申请 商标注册 法律咨询 "
         "劳动合同 人才招聘 实习生 培训课程 会议室 展厅 办公室 工位 实验室 检测认证 质量体系 网络安全 云服务器 机房 "
         "融资 天使投资 贷款 补贴申报 高新技术企业 动漫制作 游戏美术 三维建模 配音 翻译 外贸 跨境 采购 供应链 "
         "新能源 充电桩 光伏 储能 无人机 机器人 传感器 物联网 大数据 区块链 医疗器械 生物医药 食品 茶叶 海产品").split()
GLUE = "提供 需要 寻找 承接 合作 长期 优惠 专业 团队 经验 欢迎 联系 价格 面议 可以 服务 项目 公司 园区 本地".split()
LATIN = ("AI", "IoT", "STM32", "Linux", "ERP", "CRM", "5G", "3D", "SaaS", "PCB")
#: Names only a few posts carry (products, brands, places, people): what most searches look for.
CHARS = ("海青岛崂山黄金沙滩云帆启明光影像素星辰蓝湾远航博睿智联华晟鼎盛恒通瑞祥嘉禾德信安泰宏达鑫源和润汇丰凯旋"
         "天成万象金石银河山水松柏竹梅兰菊春夏秋冬东南西北中华新科创优特精工艺材料电气化学生物环保能源").replace(" ", "")


def _names(rng: random.Random, count: int) -> list[str]:
    return ["".join(rng.choice(CHARS) for _ in range(rng.randint(2, 4))) for _ in range(count)]


def _text(rng: random.Random, low: int, high: int, names: list[str]) -> str:
    parts, size = [], rng.randint(low, high)
    while sum(map(len, parts)) < size:
        pick = rng.random()
        parts.append(rng.choice(WORDS) if pick < 0.4 else rng.choice(names) if pick < 0.55 else rng.choice(GLUE))
        if rng.random() < 0.06:
            parts.append(rng.choice(LATIN))
        if rng.random() < 0.15:
            parts.append(rng.choice("，。、；"))
    return "".join(parts)


def _queries(rng: random.Random, count: int, names: list[str]) -> list[str]:
    """What people type: a name (few posts carry it), a trade word, part of one across a boundary, two words, a
    latin word."""
    found = []
    while len(found) < count:
        pick = rng.random()
        word = rng.choice(WORDS)
        if pick < 0.4:
            found.append(rng.choice([name for name in names if len(name) >= 3]))
        elif pick < 0.55:
            found.append(word)
        elif pick < 0.7 and len(word) >= 3:
            start = rng.randrange(0, len(word) - 1)
            found.append(word[start:start + rng.randint(2, len(word) - start)])
        elif pick < 0.9:
            found.append(word + rng.choice(WORDS)[:2])
        else:
            found.append(rng.choice(LATIN).lower())
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from bench.scratch import scratch_database, server_url

    os.environ.setdefault("DATABASE_URL", server_url())
    with ExitStack() as stack:
        url = stack.enter_context(scratch_database("board"))
        var = stack.enter_context(tempfile.TemporaryDirectory(prefix="onegrid-bench-board-"))
        env = dict(os.environ, DATABASE_URL=url, ONEGRID_VAR_DIR=var, DEBUG="0", LOG_LEVEL="WARNING",
                   DJANGO_SETTINGS_MODULE="config.settings")
        env.pop("REDIS_URL", None)
        os.environ.update(env)
        os.environ.pop("REDIS_URL", None)
        print(f"scratch database {url.rsplit('/', 1)[1]}: migrating ...", flush=True)
        common.manage(env, "migrate", "-v", "0")
        sys.exit(0 if run(args) else 1)


def run(args) -> bool:
    import django

    django.setup()
    from django.db import connection
    from django.db.models import Q

    from parks.board import board_search, search_terms_of, text_normalise
    from parks.models import BoardPost, Enterprise, Park

    rng = random.Random(7)
    names = _names(rng, max(1000, args.posts // 5))
    park = Park.objects.create(code="bench-park", name="基准园区")
    enterprise = Enterprise.objects.create(park=park, name="基准企业")
    started = time.perf_counter()
    for first in range(0, args.posts, 2000):
        made = []
        for _ in range(min(2000, args.posts - first)):
            title, body = _text(rng, 8, 24, names), _text(rng, 60, 200, names)
            made.append(BoardPost(park=park, enterprise=enterprise, kind=rng.choice(["offer", "need"]),
                                  category="other", title=title, body=body, search_terms=search_terms_of(title, body),
                                  search_text=text_normalise(f"{title}\n{body}")))
        BoardPost.objects.bulk_create(made)
        print(f"\r{first + len(made):,} posts written (the GIN index kept up to date as they are)", end="",
              flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("SELECT pg_size_pretty(pg_relation_size('board_post_terms'))")
        size = cursor.fetchone()[0]
    print(f"\n{args.posts:,} posts in {time.perf_counter() - started:.0f} s; the terms' index: {size}\n")

    queries = _queries(rng, args.queries, names)
    everything = BoardPost.objects.filter(park=park)
    ways = {"term index": lambda text: board_search(everything, text),
            "LIKE %...%": lambda text: everything.filter(Q(title__icontains=text) | Q(body__icontains=text))}
    for text in queries:  # the same posts both ways
        index_found = set(ways["term index"](text).values_list("pk", flat=True))
        like_found = set(ways["LIKE %...%"](text).values_list("pk", flat=True))
        assert index_found == like_found, (text, len(index_found), len(like_found))
    timings: dict[str, list[float]] = {name: [] for name in ways}
    for round_number in range(args.rounds):
        order = list(ways) if round_number % 2 == 0 else list(reversed(ways))
        for text in queries:
            for name in order:  # each query both ways, back to back, the order alternating by round
                started = time.perf_counter()
                list(ways[name](text).order_by("-created_at", "-id").values_list("pk", flat=True)[:20])
                timings[name].append((time.perf_counter() - started) * 1000)
    import numpy as np

    def p99(values):
        return float(np.percentile(values, 99))

    print(f"{len(queries)} queries x {args.rounds} rounds each way (the first page of 20, newest first), same "
          f"results both ways; e.g. {', '.join(queries[:6])}")
    found = {}
    for name, values in timings.items():
        low, high = common.interval(values, p99)
        found[name] = (low, high)
        print(f"  {name:<11} p50 {np.median(values):7.1f} ms   p99 {p99(values):7.1f} ms (95% {low:.1f}-{high:.1f})")
    ratio = np.median(timings["LIKE %...%"]) / np.median(timings["term index"])
    print(f"  the index answers in 1/{ratio:.1f} of the LIKE's median time")
    outcome = common.verdict(found["term index"], P99_TARGET_MS)
    print(f"\nindex p99 <= {P99_TARGET_MS:.0f} ms at {args.posts:,} posts: {outcome}")
    return outcome == "PASS"


if __name__ == "__main__":
    main()
