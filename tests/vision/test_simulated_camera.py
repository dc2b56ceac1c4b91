"""Acceptance: a simulated camera replaying vtest.avi (Debian opencv-doc) gives a people-flow series, and its
ongoing situations are one incident each however often they are seen or replayed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gridapp.incidents.models import Event, EventSource
from vision.models import Camera, CameraRule, FlowSample, Situation, Snapshot, SourceKind
from vision.rules import Algorithm
from vision.services import Picture, snapshots_process
from vision.sources import snapshot_fetch

pytestmark = pytest.mark.django_db

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")  # 795 frames, 10 fps: pedestrians on a campus
T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)  # a multiple of 20 s: the flow intervals start here


@pytest.fixture
def vtest_camera(camera_record):
    assert VTEST.exists(), "apt-get install opencv-doc (.ci/run does)"
    camera = Camera.objects.create(record=camera_record, source_kind=SourceKind.VIDEO, source=str(VTEST),
                                   interval_seconds=5)
    CameraRule.objects.create(camera=camera, algorithm=Algorithm.PEOPLE_FLOW,
                              params={"interval_seconds": 20, "threshold": 2})
    CameraRule.objects.create(camera=camera, algorithm=Algorithm.CROWD,
                              params={"min_people": 3, "min_hits": 2, "min_seconds": 5, "clear_seconds": 10})
    return camera


def _replay(camera: Camera, moments: list[datetime]) -> None:
    for at in moments:
        snapshots_process([Picture(camera=camera, taken_at=at, image=snapshot_fetch(camera, at))])


def test_a_replayed_video_gives_a_flow_series_and_one_incident_per_situation(
        detectors, event_categories, vtest_camera):
    moments = [T0 + timedelta(seconds=5 * i) for i in range(13)]  # one minute: three 20-second intervals
    frames = {snapshot_fetch(vtest_camera, at).tobytes()[:4096] for at in moments[:4]}
    assert len(frames) == 4  # the video moves on with the clock
    _replay(vtest_camera, moments)

    series = list(FlowSample.objects.filter(rule__algorithm=Algorithm.PEOPLE_FLOW)
                  .values_list("interval_start", "count"))
    assert [start for start, _count in series] == [T0, T0 + timedelta(seconds=20), T0 + timedelta(seconds=40)]
    assert all(count >= 3 for _start, count in series)  # vtest.avi always shows several pedestrians

    situations = list(Situation.objects.order_by("rule__algorithm"))
    assert sorted(s.rule.algorithm for s in situations) == [Algorithm.CROWD, Algorithm.PEOPLE_FLOW]
    assert all(s.ended_at is None and s.event_id for s in situations)
    events = Event.objects.filter(source=EventSource.CAMERA)
    assert sorted(e.category.code for e in events) == ["05-08", "05-09"]

    # The same minute delivered again (a redelivered task, a restarted worker): nothing new.
    before = (Snapshot.objects.count(), FlowSample.objects.count(), Situation.objects.count(), events.count())
    _replay(vtest_camera, moments)
    assert (Snapshot.objects.count(), FlowSample.objects.count(), Situation.objects.count(), events.count()) == before
    assert before[0] == 13
