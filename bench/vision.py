"""Camera AI per snapshot: bare model inference against the whole pipeline, per backend, on this machine.

For each model and backend (PyTorch .pt; ONNX Runtime and OpenVINO through Ultralytics, exported here as
``manage.py export_models`` exports them), on the same frames of vtest.avi (a campus road, 768 x 576):

* bare inference: ``YOLO.predict`` on the decoded frames (BGR arrays, as OpenCV decodes them), called as a
  worker calls it (``vision.detector.detect_chunk``: one picture a call on the CPU, the whole batch on a
  GPU): p50 ms per image and images/s;
* end to end (each backend): the vision worker's task on batches of as many cameras (ask each camera for its
  picture, decode, detect, run the cameras' rules, write the snapshots, situations and incidents), on a
  scratch database with the demo district: p50 ms per snapshot (a batch's time over its size) and its ratio
  to bare inference (target <= 1.10x).

The yolo11n-sized model is the vehicle model (YOLO11n-seg); the person model is a YOLOv8s.  With CUDA (a GPU
machine) the PyTorch backend runs on the GPU: ``--batch 32`` gives the images/s of one GPU.

    .venv/bin/python bench/vision.py [--frames 64] [--batch 8]
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=64, help="frames timed per measurement")
    parser.add_argument("--batch", type=int, default=8, help="pictures per inference call and per task")
    parser.add_argument("--rounds", type=int, default=3, help="passes over the frames, bare and end to end in turn")
    parser.add_argument("--models", default="person,vehicle", type=lambda v: v.split(","))
    parser.add_argument("--backends", default="torch,onnxruntime,openvino", type=lambda v: v.split(","))
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="onegrid-bench-vision-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["ONEGRID_VAR_DIR"] = str(scratch)
    os.environ["DATABASE_URL"] = f"sqlite:///{scratch}/bench.sqlite3"
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from vision.detector import ultralytics_ready

    ultralytics_ready()  # as a worker starts: offline, inference on every core
    try:
        run(args, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run(args, scratch: Path) -> None:
    from django.core.management import call_command

    from vision.demo import VTEST
    from vision.registry import OFFLINE_MODELS, offline_models_fetch

    if not VTEST.exists():
        sys.exit(f"{VTEST} is missing: apt-get install opencv-doc")
    print("preparing: scratch database with the demo district, the offline models ...", flush=True)
    call_command("migrate", verbosity=0)
    call_command("seed_demo", "--no-progress", "--events", "0", stdout=open(os.devnull, "w"))
    call_command("install_models", stdout=open(os.devnull, "w"))
    pt_files = dict(zip((spec.name for spec in OFFLINE_MODELS), offline_models_fetch(), strict=True))
    frames = _frames(VTEST, args.frames)
    import torch

    height, width = frames[0].shape[:2]
    print(f"{len(frames)} frames of vtest.avi ({width} x {height}) in batches of {args.batch}; "
          f"CPU threads: {torch.get_num_threads()}; CUDA: {torch.cuda.is_available()}\n")
    for spec in OFFLINE_MODELS:
        if spec.name not in args.models:
            continue
        pt = pt_files[spec.name]
        backends = {"torch": pt,
                    "onnxruntime": _export(pt, "onnx", scratch) if "onnxruntime" in args.backends else None,
                    "openvino": _export(pt, "openvino", scratch) if "openvino" in args.backends else None}
        print(f"{spec.name} model ({spec.origin}):")
        bare, fastest = {}, {}
        for backend, path in backends.items():
            if backend not in args.backends:
                continue
            if path is None:
                print(f"   {backend:<12} export failed: skipped")
                continue
            bare[backend], end_to_end = _compare(spec.name, path, backend, frames, args.batch, args.rounds)
            ratio = end_to_end["p50"] / bare[backend]["p50"]
            fastest[backend] = end_to_end["p50"]
            print(f"   {backend:<12} bare inference   p50 {bare[backend]['p50']:6.1f} ms   "
                  f"{bare[backend]['rate']:6.1f} images/s")
            print(f"   {'':<12} end to end       p50 {end_to_end['p50']:6.1f} ms   "
                  f"{end_to_end['rate']:6.1f} snapshots/s   {ratio:.2f}x bare "
                  f"({'PASS' if ratio <= 1.10 else 'FAIL'} <= 1.10x)  [{end_to_end['incidents']} incidents written]",
                  flush=True)
        if spec.name == "vehicle" and fastest:
            backend, best = min(fastest.items(), key=lambda item: item[1])
            print(f"   yolo11n-sized model at 640, fastest backend ({backend}): p50 {best:.1f} ms end to end "
                  f"({'PASS' if best <= 45 else 'FAIL'} <= 45 ms)")
        print()


def _frames(path: Path, count: int):
    """``count`` frames spread over the video, BGR arrays."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    frames = []
    for index in range(count):
        capture.set(cv2.CAP_PROP_POS_FRAMES, index * total // count)
        ok, frame = capture.read()
        if ok:
            frames.append(frame)
    capture.release()
    return frames


def _export(pt: Path, format: str, scratch: Path) -> Path | None:
    """``pt`` exported to ONNX or OpenVINO as ``vision.backends.model_export`` exports it (Ultralytics'
    exporter, offline, the same options), in the scratch folder."""
    from ultralytics import YOLO

    from vision.backends import EXPORT_OPTIONS, openvino_telemetry_declined

    copy = scratch / format / pt.parent.name / pt.name
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(pt, copy)
    if format == "openvino":
        openvino_telemetry_declined()
    try:
        return Path(YOLO(str(copy)).export(format=format, imgsz=640, verbose=False, **EXPORT_OPTIONS[format]))
    except Exception as error:  # an exporter missing a piece must not cost the other figures
        print(f"   ({format} export: {type(error).__name__}: {error})")
        return None


def _compare(name: str, path: Path, backend: str, frames, size: int, rounds: int) -> tuple[dict, dict]:
    """Bare inference and the worker's task, batch by batch in turn (so that the machine's moods, which on a
    shared VM swing timings by a third, fall on both alike); the first batch of each warms up.  Per image:
    p50 of a batch's time over its size; the rate over all batches."""
    from ultralytics import YOLO

    from vision.detector import detect_chunk, device

    yolo = YOLO(str(path))  # as vision.detector loads it: the task and class names from the file
    chunk = detect_chunk()  # pictures per inference call, as the worker calls the model
    task, cameras_done = _end_to_end(name, path, backend, frames, size)
    batches = [frames[start:start + size] for start in range(0, len(frames) - size + 1, size)]
    timings = {"bare": [], "end to end": []}

    def bare(batch):
        for start in range(0, len(batch), chunk):
            yolo.predict(batch[start:start + chunk], imgsz=640, conf=0.25, device=device(), verbose=False,
                         batch=len(batch[start:start + chunk]))

    steps = {"bare": bare, "end to end": task}
    for round_ in range(rounds):
        for index, batch in enumerate(batches):
            for label, step in steps.items():
                begin = time.perf_counter()
                step(batch)
                if round_ or index:
                    timings[label].append((time.perf_counter() - begin) * 1000 / len(batch))
    bare, end_to_end = ({"p50": statistics.median(t), "rate": 1000 * len(t) / sum(t)} for t in timings.values())
    end_to_end["incidents"] = cameras_done()
    return bare, end_to_end


def _end_to_end(name: str, path: Path, backend: str, frames, size: int):
    """The worker's task on ``size`` cameras, with only this model and backend registered: a step taking a
    batch of frames (each call the next 10-second slot, showing the cameras the next batch of ``frames``), and
    a function that removes the cameras and the model and returns how many incidents they wrote."""
    import cv2

    from gridapp.models import BaseRecord, Event, EventSource, RecordKind
    from vision.models import Camera, CameraRule, DetectorModel, ModelFormat
    from vision.registry import file_sha256
    from vision.rules import Algorithm
    from vision.tasks import cameras_snapshot_task

    DetectorModel.objects.update(active=False)
    model = DetectorModel.objects.create(
        name=f"{name}-{backend}", version=1, file=str(path), sha256=file_sha256(path),
        format={".pt": ModelFormat.TORCH, ".onnx": ModelFormat.ONNX}.get(path.suffix, ModelFormat.OPENVINO),
        class_map=DetectorModel.objects.get(name=name, version=1, format=ModelFormat.TORCH).class_map)
    records = BaseRecord.objects.filter(kind=RecordKind.CAMERA, camera__isnull=True)[:size]
    # The same frames as the bare runs, as JPEG files the cameras "send": taking and decoding them is timed
    # too.  Camera i's folder holds frames i, i + size, ...: slot k of a 10-second interval shows its k-th
    # (modulo their number), so the task's batch k sees the frames of the bare run's batch k.
    algorithm = Algorithm.CROWD if name == "person" else Algorithm.ILLEGAL_PARKING
    cameras = []
    for index, record in enumerate(records):
        folder = Path(path).parent / f"frames-{backend}" / str(index)
        folder.mkdir(parents=True, exist_ok=True)
        for number, frame in enumerate(frames[index::size]):
            cv2.imwrite(str(folder / f"{number:04}.jpg"), frame, [cv2.IMWRITE_JPEG_QUALITY, 90])
        camera = Camera.objects.create(record=record, source_kind="folder", source=str(folder), interval_seconds=10)
        # A crowd from two people, at once: the first snapshot opens an incident, the rest update the situation.
        CameraRule.objects.create(camera=camera, algorithm=algorithm,
                                  params={"min_hits": 1, "min_seconds": 0,
                                          **({"min_people": 2} if name == "person" else {})})
        cameras.append(camera)
    count = len(frames) // size
    start = datetime.fromtimestamp(count * 10 * 1000, tz=UTC)  # slot 0 of a folder's cycle
    slots = (start + timedelta(seconds=10 * k) for k in itertools.count())
    incidents_before = Event.objects.filter(source=EventSource.CAMERA).count()

    def step(_batch):
        slot = next(slots).isoformat()
        assert cameras_snapshot_task([[camera.pk, slot] for camera in cameras]) == len(cameras)

    def done() -> int:
        incidents = Event.objects.filter(source=EventSource.CAMERA).count() - incidents_before
        Camera.objects.filter(pk__in=[camera.pk for camera in cameras]).delete()
        model.delete()
        DetectorModel.objects.filter(name__in=("person", "vehicle")).update(active=True)
        return incidents

    return step, done


if __name__ == "__main__":
    main()
