"""The enterprise-service board through the real schema: offers and needs published, found by any part of their
Chinese (or latin) text, answered by another enterprise whose answer reaches the author, closed, hidden by the
operator; each person sees what is theirs to see."""

from __future__ import annotations

import pytest
from strawberry.relay import to_base64

from core.models import Notification
from parks.board import board_search, terms_of
from parks.models import BoardPost, Employee, Enterprise, Park
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PUBLISH = """mutation($input: PublishBoardPostInput!) { publishBoardPost(input: $input) {
  errors { code field } post { id title status enterprise { name } } } }"""
RESPOND = """mutation($input: RespondToBoardPostInput!) { respondToBoardPost(input: $input) {
  errors { code field } response { id body enterprise { name } } } }"""
MODERATE = """mutation($input: ModerateBoardPostInput!) { moderateBoardPost(input: $input) {
  errors { code field } post { status moderationNote } } }"""
CLOSE = """mutation($input: CloseBoardPostInput!) { closeBoardPost(input: $input) { errors { code } post { status } } }"""
BOARD = """query($park: ID!, $search: String, $kind: BoardKind, $mine: Boolean) {
  boardPosts(parkId: $park, search: $search, kind: $kind, mine: $mine) { edges { node { title kind status
  moderationNote responses { body enterprise { name } } } } } }"""

POSTS = [
    ("OFFER", "TECHNOLOGY", "提供定制软件开发服务", "承接小程序、管理系统和AI视觉算法的软件开发，团队二十人。"),
    ("NEED", "TALENT", "招聘嵌入式工程师", "需要熟悉 STM32 和 Linux 驱动的工程师两名。"),
    ("OFFER", "SPACE", "出租会议室", "A 座十二层会议室可容纳三十人，按小时计费。"),
    ("NEED", "MANUFACTURING", "寻找零件开模合作", "需要塑料零件开模，另有软件、开发板采购需求。"),
]


def titles(answer) -> list[str]:
    return sorted(edge["node"]["title"] for edge in answer.data["boardPosts"]["edges"])


def test_terms_are_neighbouring_characters_and_words():
    assert terms_of("软件开发 AI视觉 STM32") == {"软件", "件开", "开发", "视觉", "ai", "stm32"}
    assert terms_of("Ａ座") == {"a", "座"}  # full width read as half width; a lone character stays itself


def test_the_board_finds_any_part_of_the_text_and_only_real_matches(software_park, gql, token_for):
    sp = software_park
    for n, (kind, category, title, body) in enumerate(POSTS):
        author = (sp.employee, sp.other)[n % 2]
        answer = gql(PUBLISH, {"input": {"enterpriseId": to_base64("Enterprise", author.enterprise_id), "kind": kind,
                                         "category": category, "title": title, "body": body}},
                     token=token_for(author.user))
        assert answer.data["publishBoardPost"]["errors"] == [], answer.body
    park, reader = to_base64("Park", sp.park.pk), token_for(sp.colleague.user)

    def search(text: str, **extra) -> list[str]:
        return titles(gql(BOARD, {"park": park, "search": text, **extra}, token=reader))

    assert search("软件开发") == ["提供定制软件开发服务"]  # the parts-only post (软件、零件开模、开发) is not a match
    assert search("件开") == ["寻找零件开模合作", "提供定制软件开发服务"]  # across word boundaries, as typed
    assert search("ai视觉") == ["提供定制软件开发服务"] == search("ＡＩ视觉")  # case and width ignored
    assert search("stm32") == ["招聘嵌入式工程师"]
    assert search("座") == ["出租会议室"]  # one character: no pair to look up, still found
    assert search("会议室", kind="NEED") == [] and search("会议室", kind="OFFER") == ["出租会议室"]
    assert search("火箭发射") == []
    assert len(gql(BOARD, {"park": park, "search": " "}, token=reader).data["boardPosts"]["edges"]) == 4  # no query
    wide = gql(PUBLISH, {"input": {"enterpriseId": to_base64("Enterprise", sp.yunfan.pk), "kind": "OFFER",
                                   "category": "OTHER", "title": "ｆｕｌｌ　ｗｉｄｔｈ　ＡＢＣ", "body": "全角文字"}},
               token=token_for(sp.employee.user))
    assert wide.data["publishBoardPost"]["errors"] == []
    assert search("abc") == search("ＡＢＣ") == search("full") == ["ｆｕｌｌ　ｗｉｄｔｈ　ＡＢＣ"]  # full width typed
    invisible = gql(PUBLISH, {"input": {"enterpriseId": to_base64("Enterprise", sp.yunfan.pk), "kind": "OFFER",
                                        "category": "OTHER", "title": "\u200b\u200b", "body": "看不见的标题"}},
                    token=token_for(sp.employee.user))
    assert invisible.data["publishBoardPost"]["errors"] == [{"code": "required", "field": "title"}]
    outsider = UserFactory(username="elsewhere")
    other_park = Park.objects.create(code="other", name="别的园区")
    Employee.objects.create(user=outsider, enterprise=Enterprise.objects.create(park=other_park, name="外园企业"))
    assert gql(BOARD, {"park": park}, token=token_for(outsider)).data["boardPosts"]["edges"] == []


def test_search_goes_through_the_index_not_a_scan(software_park):
    """On PostgreSQL the query asks the terms' GIN index and checks the text of the candidates only (EXPLAIN shows
    the index); on SQLite (the embedded mode) it is a LIKE."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from parks.board import post_publish

    for kind, category, title, body in POSTS:
        post_publish(actor=software_park.employee.user, enterprise=software_park.yunfan, kind=kind.lower(),
                     category=category.lower(), title=title, body=body)
    with CaptureQueriesContext(connection) as captured:
        found = list(board_search(BoardPost.objects.all(), "软件开发"))
    assert [post.title for post in found] == ["提供定制软件开发服务"]
    [sql] = [query["sql"] for query in captured.captured_queries]
    if connection.vendor != "postgresql":
        assert "LIKE" in sql.upper()
        return
    assert "to_tsvector('simple', parks_boardpost.search_terms) @@ to_tsquery" in sql
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")  # a handful of rows: make the planner show it can use the index
        plan = board_search(BoardPost.objects.all(), "软件开发").explain()
        cursor.execute("RESET enable_seqscan")
    assert "board_post_terms" in plan, plan


def test_an_answer_reaches_the_author_and_the_operator_moderates(software_park, gql, token_for):
    sp = software_park
    yunfan, qiming = to_base64("Enterprise", sp.yunfan.pk), to_base64("Enterprise", sp.qiming.pk)
    third = Enterprise.objects.create(park=sp.park, name="青岛第三方科技有限公司")
    stranger = UserFactory(username="third")
    Employee.objects.create(user=stranger, enterprise=third)
    post = gql(PUBLISH, {"input": {"enterpriseId": yunfan, "kind": "NEED", "category": "LEGAL",
                                   "title": "寻找知识产权代理", "body": "两项发明专利申请。"}},
               token=token_for(sp.employee.user)).data["publishBoardPost"]["post"]
    park = to_base64("Park", sp.park.pk)
    own = gql(RESPOND, {"input": {"postId": post["id"], "enterpriseId": yunfan, "body": "我们自己"}},
              token=token_for(sp.colleague.user)).data["respondToBoardPost"]
    assert own["errors"] == [{"code": "own_post", "field": "postId"}]
    posing = gql(RESPOND, {"input": {"postId": post["id"], "enterpriseId": qiming, "body": "冒名回复"}},
                 token=token_for(stranger)).data["respondToBoardPost"]
    assert posing["errors"][0]["code"] == "permission_denied"
    answer = gql(RESPOND, {"input": {"postId": post["id"], "enterpriseId": qiming, "body": "启明有合作代理，可介绍。"}},
                 token=token_for(sp.other.user)).data["respondToBoardPost"]
    assert answer["errors"] == [] and answer["response"]["enterprise"]["name"] == "青岛启明软件有限公司"
    told = Notification.objects.get(recipient=sp.employee.user)
    assert "寻找知识产权代理" in told.title and told.body == "启明有合作代理，可介绍。"

    def board(user) -> list:
        return [edge["node"] for edge in gql(BOARD, {"park": park}, token=token_for(user)).data["boardPosts"]["edges"]]

    assert board(sp.colleague.user)[0]["responses"] == [{"body": "启明有合作代理，可介绍。",
                                                         "enterprise": {"name": "青岛启明软件有限公司"}}]
    assert board(stranger)[0]["responses"] == []  # a third enterprise sees the post, not the answers

    refused = gql(MODERATE, {"input": {"postId": post["id"], "hide": True, "note": "广告"}},
                  token=token_for(sp.employee.user)).data["moderateBoardPost"]
    assert refused["errors"][0]["code"] == "permission_denied"
    no_note = gql(MODERATE, {"input": {"postId": post["id"], "hide": True}}, token=token_for(sp.operator))
    assert no_note.data["moderateBoardPost"]["errors"] == [{"code": "required", "field": "note"}]
    hidden = gql(MODERATE, {"input": {"postId": post["id"], "hide": True, "note": "含联系方式，请通过平台沟通"}},
                 token=token_for(sp.operator)).data["moderateBoardPost"]
    assert hidden["post"] == {"status": "HIDDEN", "moderationNote": "含联系方式，请通过平台沟通"}
    assert board(stranger) == [] and board(sp.other.user) == []
    assert board(sp.colleague.user)[0]["moderationNote"] == "含联系方式，请通过平台沟通"  # its enterprise sees why
    late = gql(RESPOND, {"input": {"postId": post["id"], "enterpriseId": qiming, "body": "还在吗"}},
               token=token_for(sp.other.user)).data["respondToBoardPost"]
    assert late["errors"][0]["code"] == "not_found"
    shown = gql(MODERATE, {"input": {"postId": post["id"], "hide": False}}, token=token_for(sp.operator))
    assert shown.data["moderateBoardPost"]["post"]["status"] == "PUBLISHED"
    closed = gql(CLOSE, {"input": {"postId": post["id"]}}, token=token_for(sp.colleague.user)).data["closeBoardPost"]
    assert closed["post"]["status"] == "CLOSED" and board(stranger) == []
