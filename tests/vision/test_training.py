"""The training loop end to end: workers report piled garbage, the office confirms it, staff box the piles, the
boxes become a YOLO dataset, a detector is trained on it (offline, on the CPU, in seconds) and registered, and a
camera watching a street it never saw finds the garbage and opens an incident.

The pictures are generated here (a grey road, lane markings, one or two textured brown piles), seeded, so the
run is the same every time.
"""

from __future__ import annotations

import io
import math
import random
import socket
from contextlib import contextmanager
from datetime import UTC, datetime

import numpy as np
import pytest
import yaml
from django.conf import settings
from django.core.management import CommandError, call_command
from PIL import Image, ImageDraw

from gridapp.incidents.models import Event, EventSource, EventStatus
from gridapp.incidents.services import event_report, event_transition
from vision.detections import ObjectClass
from vision.detector import detector_for
from vision.models import Camera, CameraRule, DetectorModel, PhotoBox, Situation, SourceKind
from vision.registry import file_sha256, serving_models
from vision.rules import Algorithm
from vision.services import Picture, snapshots_process
from vision.sources import snapshot_fetch
from vision.training import detector_train, training_data_export

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
SIZE = 320
# Tuned to learn the piles from scratch quickly on two CPU cores (`pytest tests/vision/test_training.py
# --durations=3` says how quickly).  Ultralytics' defaults suit real data sets:
# with 16 pictures an epoch, its nominal batch of 64 would step the optimiser once every four epochs (nbs=4 steps
# every batch), and mosaics at this size shrink the piles to a few pixels.  The piles are large, so 128 px do.
EPOCHS, IMAGE_SIZE, BATCH = 40, 128, 4
FAST = {"optimizer": "AdamW", "lr0": 0.003, "lrf": 0.3, "warmup_epochs": 1, "nbs": 4, "mosaic": 0.0, "val": False}
CONFIRMED, WAITING, REJECTED = 20, 2, 1

Box = tuple[float, float, float, float]


def garbage_scene(rng: random.Random, *, piles: int | None = None) -> tuple[Image.Image, list[Box]]:
    """A grey road with noise and a dashed lane marking, and one or two piles of garbage (irregular brown
    blobs, speckled, with scraps of black, white, blue and red on them); the piles' boxes, normalised."""
    noise = np.random.default_rng(rng.randrange(1 << 30))
    road = np.clip(noise.normal(rng.randint(95, 150), 12, (SIZE, SIZE, 3)), 0, 255).astype(np.uint8)
    image = Image.fromarray(road, "RGB")
    draw = ImageDraw.Draw(image)
    lane = rng.randint(40, SIZE - 40)
    for y in range(0, SIZE, 60):
        draw.rectangle((lane, y, lane + 6, y + 30), fill=(225, 225, 215))
    boxes: list[Box] = []
    for _pile in range(piles if piles is not None else rng.choice((1, 1, 2))):
        rx, ry = rng.randint(22, 55), rng.randint(16, 40)
        for _attempt in range(20):  # apart from the other pile
            cx, cy = rng.randint(rx + 4, SIZE - rx - 4), rng.randint(ry + 4, SIZE - ry - 4)
            if all(cx + rx < b[0] * SIZE or cx - rx > b[2] * SIZE or cy + ry < b[1] * SIZE or cy - ry > b[3] * SIZE
                   for b in boxes):
                break
        outline = []
        for k in range(24):
            angle, reach = 2 * math.pi * k / 24, rng.uniform(0.7, 1.0)
            outline.append((cx + rx * reach * math.cos(angle), cy + ry * reach * math.sin(angle)))
        mask = Image.new("L", (SIZE, SIZE), 0)
        ImageDraw.Draw(mask).polygon(outline, fill=255)
        tone = (rng.randint(70, 110), rng.randint(45, 70), rng.randint(20, 40))
        texture = np.clip(noise.normal(tone, 28, (SIZE, SIZE, 3)), 0, 255).astype(np.uint8)
        image.paste(Image.fromarray(texture, "RGB"), (0, 0), mask)
        for _scrap in range(rng.randint(4, 9)):
            sx, sy = cx + rng.uniform(-0.6, 0.6) * rx, cy + rng.uniform(-0.6, 0.6) * ry
            r = rng.uniform(3, 9)
            draw.ellipse((sx - r, sy - r * 0.7, sx + r, sy + r * 0.7),
                         fill=rng.choice(((30, 30, 30), (200, 200, 190), (60, 90, 140), (140, 40, 30))))
        xs, ys = [x for x, _y in outline], [y for _x, y in outline]
        boxes.append((max(0, min(xs)) / SIZE, max(0, min(ys)) / SIZE,
                      min(SIZE, max(xs)) / SIZE, min(SIZE, max(ys)) / SIZE))
    return image, boxes


def jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def iou(a: Box, b: Box) -> float:
    inter = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@pytest.fixture
def training_folders(settings, tmp_path):
    """The runs and the registered files in the test's own folders; a low serving confidence."""
    settings.VAR_DIR = tmp_path / "var"
    settings.VISION_MODEL_DIR = tmp_path / "models"
    settings.VISION_CONFIDENCE = 0.1
    return tmp_path


@pytest.fixture
def no_network(monkeypatch):
    """A context in which any name lookup or connection is recorded and fails (Ultralytics swallows the error,
    so the record is what the test asserts on)."""
    attempts: list[object] = []

    def refuse(*args, **kwargs):
        attempts.append(args[:2])
        raise OSError("no network in this test")

    @contextmanager
    def guard():
        with monkeypatch.context() as patch:
            patch.setattr(socket, "getaddrinfo", refuse)
            patch.setattr(socket.socket, "connect", refuse)
            patch.setattr(socket, "create_connection", refuse)
            yield attempts

    return guard


def report_piles(users, rng: random.Random, count: int, *, first: int = 0, then: str | None = "accept",
                 ) -> list[tuple[Event, list[Box]]]:
    """``count`` reports of piled garbage, 180 m apart (no duplicates), each boxed by staff; ``then``: what the
    office does with them (accept, reject or None)."""
    reported = []
    for i in range(first, first + count):
        image, boxes = garbage_scene(rng)
        outcome = event_report(reporter=users["worker"], category_code="01-03", lng=120.301 + i * 0.002, lat=36.03,
                               photos=[jpeg(image)])
        assert outcome.duplicate_of is None
        event = outcome.event
        if then == "accept":
            event = event_transition(actor=users["operator"], event_id=event.pk, action="accept")
        elif then == "reject":
            event = event_transition(actor=users["operator"], event_id=event.pk, action="reject",
                                     note="Not garbage: a shadow.")
        [photo] = event.photos.all()
        assert (photo.width, photo.height) == (SIZE, SIZE)  # the display copy keeps the size: boxes unchanged
        for box in boxes:
            PhotoBox.objects.create(photo=photo, label=ObjectClass.GARBAGE, x1=box[0], y1=box[1], x2=box[2],
                                    y2=box[3], boxed_by=users["operator"])
        reported.append((event, boxes))
    return reported


def test_reported_garbage_trains_a_detector_that_lets_a_camera_open_an_incident(
        users, event_categories, camera_record, training_folders, no_network):
    rng = random.Random(20261125)
    confirmed = report_piles(users, rng, CONFIRMED)
    waiting = report_piles(users, rng, WAITING, first=CONFIRMED, then=None)
    rejected = report_piles(users, rng, REJECTED, first=CONFIRMED + WAITING, then="reject")
    assert {e.status for e, _b in confirmed} == {EventStatus.ACCEPTED}
    assert {e.status for e, _b in waiting + rejected} == {EventStatus.REPORTED, EventStatus.REJECTED}

    # The dataset: the confirmed incidents' photos only, each with its boxes.
    summary = training_data_export(out=training_folders / "dataset", progress=False)
    photo_of = {event.pk: event.photos.get().pk for event, _b in confirmed + waiting + rejected}
    assert summary.names == ("garbage",)
    assert summary.images == CONFIRMED and summary.train + summary.val == CONFIRMED and summary.val >= 1
    assert summary.boxes == {"garbage": sum(len(boxes) for _e, boxes in confirmed)}
    images = {path.stem for path in (training_folders / "dataset" / "images").rglob("*.jpg")}
    assert images == {str(photo_of[event.pk]) for event, _b in confirmed}
    event, boxes = confirmed[0]
    [label] = (training_folders / "dataset" / "labels").rglob(f"{photo_of[event.pk]}.txt")
    rows = [[float(v) for v in line.split()] for line in label.read_text().splitlines()]
    assert len(rows) == len(boxes)
    for (cls, cx, cy, w, h), (x1, y1, x2, y2) in zip(rows, boxes, strict=True):
        assert cls == 0 and cx == pytest.approx((x1 + x2) / 2, abs=1e-5) and w == pytest.approx(x2 - x1, abs=1e-5)
        assert cy == pytest.approx((y1 + y2) / 2, abs=1e-5) and h == pytest.approx(y2 - y1, abs=1e-5)
    data = yaml.safe_load(summary.data_yaml.read_text())
    assert data == {"path": str((training_folders / "dataset").resolve()), "train": "images/train",
                    "val": "images/val", "names": {0: "garbage"}}

    # Training, offline: nothing is looked up or downloaded.
    with no_network() as attempts:
        model = detector_train(data_yaml=summary.data_yaml, name="garbage", epochs=EPOCHS, image_size=IMAGE_SIZE,
                               batch=BATCH, device="cpu", hyperparameters=FAST)
    assert attempts == []
    assert (model.name, model.version, model.format, model.image_size) == ("garbage", 1, "pt", IMAGE_SIZE)
    assert model.class_map == {"garbage": "garbage"} and model.classes == {"garbage"}
    assert model.file == "garbage/garbage-v1.pt" and model.path == settings.VISION_MODEL_DIR / model.file
    assert model.sha256 == file_sha256(model.path)
    assert model.origin == f"trained by train_detector: {EPOCHS} epochs on {summary.data_yaml} ({CONFIRMED} images)"
    assert serving_models(["garbage"]) == {"garbage": model}

    # A street the model never saw: a camera watching it for piled garbage opens one incident.
    street, [pile] = garbage_scene(random.Random(7), piles=1)
    street.save(training_folders / "street.jpg", quality=90)
    camera = Camera.objects.create(record=camera_record, source_kind=SourceKind.FILE,
                                   source=str(training_folders / "street.jpg"))
    CameraRule.objects.create(camera=camera, algorithm=Algorithm.PILED_GARBAGE,
                              params={"min_hits": 1, "min_seconds": 0, "min_confidence": 0.1})
    [outcome] = snapshots_process([Picture(camera=camera, taken_at=T0, image=snapshot_fetch(camera, T0))])
    best = max(outcome.detections, key=lambda d: d.confidence)
    assert best.label == ObjectClass.GARBAGE and iou(best.box, pile) > 0.5, (outcome.detections, pile)
    assert best.confidence >= 0.2, best  # 0.49 here
    [situation] = outcome.started
    assert Situation.objects.get(camera=camera) == situation and situation.event is not None
    [incident] = Event.objects.filter(situations__camera=camera)
    assert incident.source == EventSource.CAMERA and incident.category.code == "01-03"
    assert incident.duplicate_of is None and incident.case_number

    # Trained again under the same name (through the command): version 2, its own file, now the one that serves.
    said = io.StringIO()
    with no_network() as attempts:
        call_command("train_detector", "--data", str(summary.data_yaml), "--name", "garbage", "--epochs", "1",
                     "--imgsz", str(IMAGE_SIZE), "--batch", str(BATCH), "--device", "cpu",
                     *(f"--hyp={key}={value}" for key, value in FAST.items()), stdout=said)
    assert attempts == []
    again = DetectorModel.objects.get(name="garbage", version=2)
    assert f"registered: garbage v2 (garbage), file {again.path}" in said.getvalue()
    assert again.origin.startswith("trained by train_detector: 1 epochs on ")
    assert again.version == 2 and again.file == "garbage/garbage-v2.pt" and again.path.exists()
    assert model.path.exists() and again.sha256 != model.sha256
    assert serving_models(["garbage"]) == {"garbage": again}
    assert len(detector_for(again).detect([street], confidence=0.001)) == 1  # loads and runs


def test_the_export_refuses_when_no_confirmed_incident_has_boxes(users, event_categories, training_folders):
    with pytest.raises(ValueError, match="no photo of a confirmed incident has boxed objects"):
        training_data_export(out=training_folders / "empty")
    rng = random.Random(1)
    report_piles(users, rng, 1, then=None)
    report_piles(users, rng, 1, first=1, then="reject")
    [(unboxed, _boxes)] = report_piles(users, rng, 1, first=2)
    PhotoBox.objects.filter(photo__event=unboxed).delete()
    with pytest.raises(ValueError, match="no photo of a confirmed incident has boxed objects"):
        training_data_export(out=training_folders / "empty")
    with pytest.raises(CommandError, match="no photo of a confirmed incident"):
        call_command("export_training_data", "--out", str(training_folders / "empty"))

    report_piles(users, rng, 1, first=3)  # a confirmed, boxed photo, but of garbage
    with pytest.raises(ValueError, match="of bin"):
        training_data_export(out=training_folders / "empty", labels=["bin"])
    with pytest.raises(ValueError, match="pothole is not"):
        training_data_export(out=training_folders / "empty", labels=["pothole"])


def test_an_export_with_one_photo_and_a_rerun_into_the_same_folder(users, event_categories, training_folders):
    rng = random.Random(2)
    report_piles(users, rng, 1)
    out = io.StringIO()
    call_command("export_training_data", "--out", str(training_folders / "ds"), "--labels", "garbage",
                 "--no-progress", stdout=out)
    assert "1 images (1 train, 0 val)" in out.getvalue()
    report_piles(users, rng, 2, first=1)
    summary = training_data_export(out=training_folders / "ds", val_fraction=0.0, progress=False)
    assert (summary.images, summary.train, summary.val) == (3, 2, 1)  # each side gets one from two photos on
    assert len(list((training_folders / "ds" / "images").rglob("*.jpg"))) == 3
    (training_folders / "other" / "images").mkdir(parents=True)
    with pytest.raises(ValueError, match="not an earlier export"):
        training_data_export(out=training_folders / "other")


def test_training_refuses_classes_that_are_not_object_classes_and_bases_it_would_download(training_folders):
    data = training_folders / "data.yaml"
    data.write_text(yaml.safe_dump({"path": str(training_folders), "train": "images", "val": "images",
                                    "names": {0: "garbage", 1: "pothole"}}))
    with pytest.raises(ValueError, match="pothole is not"):
        detector_train(data_yaml=data, name="roads", epochs=1)
    with pytest.raises(CommandError, match="pothole is not"):
        call_command("train_detector", "--data", str(data), "--name", "roads", "--epochs", "1", stdout=io.StringIO())
    data.write_text(yaml.safe_dump({"path": str(training_folders), "train": "images", "val": "images",
                                    "names": ["garbage"]}))
    with pytest.raises(ValueError, match="cannot be downloaded"):
        detector_train(data_yaml=data, name="roads", base="yolo11n.pt")
    with pytest.raises(ValueError, match="must be a slug"):
        detector_train(data_yaml=data, name="roads v2")
    with pytest.raises(ValueError, match="own arguments"):
        detector_train(data_yaml=data, name="roads", hyperparameters={"project": "/tmp"})
    with pytest.raises(ValueError, match="no dataset"):
        detector_train(data_yaml=training_folders / "missing.yaml", name="roads")
    assert not DetectorModel.objects.exists()
