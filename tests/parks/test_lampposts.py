"""Lamp posts through the real schema and the players' HTTP endpoints: a real MP4 submitted by an enterprise,
approved by the operator, scheduled by slot and post; a post asking for its playlist (versioned: 304 while
nothing changed) and reporting what it played, once however often; bad videos, unknown posts and bad reports
refused with their reasons."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.test import Client
from django.utils import timezone
from strawberry.relay import to_base64

from parks.lampposts import lamp_post_create, playlist_now, slot_create, video_review, video_submit
from parks.models import PlayReport, PromoVideo

pytestmark = pytest.mark.django_db

SUBMIT = """mutation($input: SubmitPromoVideoInput!) { submitPromoVideo(input: $input) {
  errors { code field } video { id title status seconds size url enterprise { name } } } }"""
REVIEW = """mutation($input: ReviewPromoVideoInput!) { reviewPromoVideo(input: $input) {
  errors { code field } video { status reviewNote } } }"""
SCHEDULE = """mutation($input: SchedulePlaylistSlotInput!) { schedulePlaylistSlot(input: $input) {
  errors { code field } slot { id name days starts ends posts videos } } }"""
POSTS = """query($park: ID!) { lampPosts(parkId: $park) { post { code } slot version playing } }"""
VIDEOS = """query($park: ID!) { promoVideos(parkId: $park) { edges { node { title status plays } } } }"""


@pytest.fixture
def posts(software_park):
    made = [lamp_post_create(park=software_park.park, code=f"sp-lamp-{n}", name=f"{n} 号灯杆",
                             longitude=120.468 + n / 1000, latitude=36.107) for n in (1, 2)]
    return made  # [(post, key)]


def _playlist(post_and_key, etag: str | None = None):
    post, key = post_and_key
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    if etag:
        headers["HTTP_IF_NONE_MATCH"] = etag
    return Client().get(f"/parks/lamp-posts/{post.code}/playlist", **headers)


def test_a_video_goes_from_an_enterprise_to_the_operator_to_the_posts_screens(
        software_park, posts, mp4, gql, token_for):
    sp = software_park
    employee, operator = token_for(sp.employee.user), token_for(sp.operator)
    park = to_base64("Park", sp.park.pk)
    submitted = gql.upload(SUBMIT, {"input": {"enterpriseId": to_base64("Enterprise", sp.yunfan.pk),
                                              "title": "云帆 2027 招聘", "video": None}},
                           {"input.video": mp4}, token=employee).data["submitPromoVideo"]
    assert submitted["errors"] == []
    video = submitted["video"]
    assert (video["status"], video["size"], video["seconds"]) == ("SUBMITTED", len(mp4), 2.0)
    assert b"".join(Client().get(video["url"]).streaming_content) == mp4  # stored as uploaded
    # nothing plays what the operator has not approved
    assert _playlist(posts[0]).json()["items"] == []
    schedule = {"parkId": park, "name": "全天", "days": [1, 2, 3, 4, 5, 6, 7], "starts": "00:00", "ends": "23:59",
                "videoIds": [video["id"]]}
    early = gql(SCHEDULE, {"input": schedule}, token=operator).data["schedulePlaylistSlot"]
    assert early["errors"] == [{"code": "not_approved", "field": "videoIds"}]
    assert gql(REVIEW, {"input": {"videoId": video["id"], "approve": True}}, token=employee).data[
        "reviewPromoVideo"]["errors"][0]["code"] == "permission_denied"
    approved = gql(REVIEW, {"input": {"videoId": video["id"], "approve": True}}, token=operator)
    assert approved.data["reviewPromoVideo"] == {"errors": [], "video": {"status": "APPROVED", "reviewNote": ""}}

    slot = gql(SCHEDULE, {"input": schedule}, token=operator).data["schedulePlaylistSlot"]
    assert slot["errors"] == [] and slot["slot"]["videos"] == ["云帆 2027 招聘"] and slot["slot"]["posts"] == []
    first = _playlist(posts[0])
    assert first.status_code == 200 and first["Cache-Control"].startswith("private, max-age=")
    body = first.json()
    assert body["slot"] == "全天" and [item["title"] for item in body["items"]] == ["云帆 2027 招聘"]
    assert b"".join(Client().get(body["items"][0]["url"]).streaming_content) == mp4  # the player downloads it
    assert _playlist(posts[0], etag=first["ETag"]).status_code == 304  # nothing changed: nothing to download
    seen = gql(POSTS, {"park": park}, token=token_for(sp.other.user)).data["lampPosts"]
    assert [(row["post"]["code"], row["playing"]) for row in seen] == [("sp-lamp-1", ["云帆 2027 招聘"]),
                                                                      ("sp-lamp-2", ["云帆 2027 招聘"])]

    # the operator takes it off the screens: the version changes, the player gets an empty list
    off = gql(REVIEW, {"input": {"videoId": video["id"], "approve": False}}, token=operator)
    assert off.data["reviewPromoVideo"]["errors"] == [{"code": "required", "field": "note"}]
    gql(REVIEW, {"input": {"videoId": video["id"], "approve": False, "note": "含联系方式"}}, token=operator)
    after = _playlist(posts[0], etag=first["ETag"])
    assert after.status_code == 200 and after.json()["items"] == [] and after["ETag"] != first["ETag"]
    # only the enterprise's people and the operator see the video itself
    assert gql(VIDEOS, {"park": park}, token=token_for(sp.other.user)).data["promoVideos"]["edges"] == []
    assert gql(VIDEOS, {"park": park}, token=employee).data["promoVideos"]["edges"][0]["node"]["status"] == "REJECTED"


def test_slots_pick_what_each_post_plays_by_day_time_and_post(software_park, posts, mp4):
    sp = software_park
    videos = []
    for title in ("早间", "午间", "A 灯杆专属"):
        video = video_submit(actor=sp.employee.user, enterprise=sp.yunfan, title=title, upload=mp4)
        videos.append(video_review(actor=sp.operator, video_id=video.pk, approve=True))
    everyday = [1, 2, 3, 4, 5, 6, 7]
    slot_create(actor=sp.operator, park=sp.park, name="全天", days=everyday, starts=time(7), ends=time(22),
                video_ids=[videos[0].pk])
    slot_create(actor=sp.operator, park=sp.park, name="午间", days=everyday, starts=time(11, 30), ends=time(13),
                video_ids=[videos[1].pk, videos[0].pk])
    slot_create(actor=sp.operator, park=sp.park, name="一号杆", days=[1], starts=time(9), ends=time(10),
                post_ids=[posts[0][0].pk], video_ids=[videos[2].pk])
    monday = timezone.make_aware(datetime(2026, 11, 30))  # a Monday
    lamp_1, lamp_2 = posts[0][0], posts[1][0]

    def playing(at: datetime) -> dict:
        found = playlist_now(posts=[lamp_1, lamp_2], now=at)
        return {post.code: ([v.title for v in found[post.pk].videos], found[post.pk].valid_until)
                for post in (lamp_1, lamp_2)}

    at_nine = playing(monday.replace(hour=9, minute=30))
    assert at_nine["sp-lamp-1"] == (["A 灯杆专属"], monday.replace(hour=10))
    assert at_nine["sp-lamp-2"] == (["早间"], monday.replace(hour=11, minute=30))  # until lunch takes over
    assert playing(monday.replace(hour=12))["sp-lamp-2"][0] == ["午间", "早间"]
    tuesday_nine = playing(monday + timedelta(days=1, hours=9, minutes=30))
    assert tuesday_nine["sp-lamp-1"][0] == ["早间"]  # the Monday slot is Mondays only
    assert playing(monday.replace(hour=23))["sp-lamp-1"][0] == []  # nothing scheduled at night


def test_bad_videos_unknown_posts_and_bad_reports_are_refused(software_park, posts, mp4, gql, token_for):
    sp = software_park
    employee = token_for(sp.employee.user)
    enterprise = to_base64("Enterprise", sp.yunfan.pk)
    for data, code in ((b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100, "video_damaged"),
                       (mp4[: len(mp4) // 2], "video_damaged"), (b"%PDF-1.4 not a video", "unsupported_type")):
        answer = gql.upload(SUBMIT, {"input": {"enterpriseId": enterprise, "title": "坏视频", "video": None}},
                            {"input.video": data}, token=employee).data["submitPromoVideo"]
        assert answer["errors"][0]["code"] == code, answer
    outsider = gql.upload(SUBMIT, {"input": {"enterpriseId": enterprise, "title": "冒名", "video": None}},
                          {"input.video": mp4}, token=token_for(sp.other.user)).data["submitPromoVideo"]
    assert outsider["errors"][0]["code"] == "permission_denied"
    assert not PromoVideo.objects.exists()

    post, key = posts[0]
    assert Client().get("/parks/lamp-posts/nobody/playlist", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401
    wrong_key = Client().get(f"/parks/lamp-posts/{post.code}/playlist", HTTP_AUTHORIZATION="Bearer guessed")
    assert wrong_key.status_code == 401 and wrong_key.json()["errors"][0]["extensions"]["code"] == "unknown_post"

    video = video_review(actor=sp.operator, approve=True, video_id=video_submit(
        actor=sp.employee.user, enterprise=sp.yunfan, title="好视频", upload=mp4).pk)
    now = timezone.now()
    plays = [{"video": video.pk, "startedAt": now.isoformat(), "seconds": 2.0},
             {"video": video.pk, "startedAt": now.isoformat(), "seconds": 2.0},  # the same play twice
             {"video": 999999, "startedAt": now.isoformat(), "seconds": 2.0},
             {"video": video.pk, "startedAt": (now + timedelta(hours=1)).isoformat(), "seconds": 2.0},
             {"video": video.pk, "startedAt": (now - timedelta(minutes=1)).isoformat(), "seconds": -3},
             {"video": "x"}, "junk",
             {"video": video.pk, "startedAt": "2026-02-30T10:00:00Z", "seconds": 2.0},  # no such day
             {"video": video.pk, "startedAt": now.isoformat(), "seconds": True}]

    def report(body, content_type="application/json"):
        return Client().post(f"/parks/lamp-posts/{post.code}/plays", body, content_type=content_type,
                             HTTP_AUTHORIZATION=f"Bearer {key}")

    answer = report({"plays": plays})
    assert answer.status_code == 200
    assert answer.json() == {"taken": 1, "refused": [{"index": 2, "reason": "unknown_video"},
                                                     {"index": 3, "reason": "bad_time"},
                                                     {"index": 4, "reason": "bad_seconds"},
                                                     {"index": 5, "reason": "malformed"},
                                                     {"index": 6, "reason": "malformed"},
                                                     {"index": 7, "reason": "malformed"},
                                                     {"index": 8, "reason": "malformed"}]}
    assert report({"plays": plays[:1]}).json()["taken"] == 0  # sent again: stored once
    assert PlayReport.objects.count() == 1
    assert report("not json", content_type="text/plain").status_code == 400
    assert report('{"plays": ' + "[" * 100_000 + "]" * 100_000 + "}").status_code == 400  # nested too deep
    assert report({"plays": [plays[0]] * 5000}).status_code == 413
    assert report({"plays": [plays[0]] * 1001}).json()["errors"][0]["extensions"]["code"] == "too_many"
    assert gql(VIDEOS, {"park": to_base64("Park", sp.park.pk)}, token=employee).data[
        "promoVideos"]["edges"][0]["node"]["plays"] == 1
