"""Running one registered model file: each loaded once per process, pictures in batches, answers in OneGrid's
classes; the inference device and how many pictures go to each call.

Which file of a model version runs here is ``vision.backends``' choice, and ``vision.detector`` hands out the
detector it chose; both build on this module, which imports neither.  Ultralytics is imported here only, after
its environment is set: offline (no hub, no update checks), its settings in our var folder, and the font it
insists on having for labels copied from matplotlib's.
"""

from __future__ import annotations

import functools
import os
import shutil
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from PIL import Image

from vision.detections import Detection
from vision.models import DetectorModel


@functools.cache
def ultralytics_ready() -> None:
    """Set Ultralytics' environment up, once per process, before anything imports it."""
    folder = Path(settings.VISION_CONFIG_DIR)
    font = folder / "Ultralytics" / "Arial.ttf"
    if not font.exists():
        import matplotlib

        font.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf", font)
    os.environ.setdefault("YOLO_CONFIG_DIR", str(folder))
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "False")
    os.environ.setdefault("YOLO_VERBOSE", "False")
    # Ultralytics sets OMP_NUM_THREADS=1 on import unless it is set (it suits training with data loaders), which
    # halves CPU inference on two cores: use the cores this process may run on, or VISION_THREADS.
    threads = settings.VISION_THREADS or len(os.sched_getaffinity(0))
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    import torch

    torch.set_num_threads(threads)


def device() -> str:
    """The inference device: ``settings.VISION_DEVICE``, else CUDA when present, else the CPU."""
    if settings.VISION_DEVICE:
        return settings.VISION_DEVICE
    import torch

    return "cuda:0" if torch.cuda.is_available() else "cpu"


def detect_chunk() -> int:
    """Pictures per inference call in a worker's batch: ``VISION_DETECT_CHUNK``, else one on the CPU (each
    picture is detected as soon as it is decoded while the next ones decode: batching gains a CPU nothing) and
    the whole batch on a GPU (which wants large batches)."""
    if settings.VISION_DETECT_CHUNK:
        return settings.VISION_DETECT_CHUNK
    return max(1, settings.VISION_BATCH_SIZE) if device().startswith("cuda") else 1


@dataclass
class Detector:
    """One loaded model.  ``detect`` is safe to call from several threads (one at a time)."""

    name: str
    image_size: int
    class_map: dict[str, str]
    yolo: object
    lock: threading.Lock

    def detect(self, images: Sequence[Image.Image], *, confidence: float | None = None) -> list[list[Detection]]:
        """The detections in each picture (RGB), boxes normalised, classes the file's mapped to OneGrid's;
        classes mapped to "" are dropped."""
        if not images:
            return []
        confidence = settings.VISION_CONFIDENCE if confidence is None else confidence
        with self.lock:
            results = self.yolo.predict(list(images), imgsz=self.image_size, conf=confidence, device=device(),
                                        verbose=False, batch=len(images))
        found = []
        for result in results:
            names = result.names
            boxes = result.boxes
            detections = []
            if boxes is not None and len(boxes):
                for cls, conf, box in zip(boxes.cls.tolist(), boxes.conf.tolist(), boxes.xyxyn.tolist(),
                                          strict=True):
                    label = self.class_map.get(names[int(cls)], "")
                    if label:
                        detections.append(Detection(label, round(conf, 4), tuple(round(v, 5) for v in box)))
            found.append(detections)
        return found


_loaded: dict[tuple[int, str], Detector] = {}
_loading = threading.Lock()


def load(model: DetectorModel) -> Detector:
    """``model`` exactly as registered, loaded once per process from its file, whose checksum is checked then.
    Raises ``FileNotFoundError`` or ``ValueError`` for a missing or altered file."""
    key = (model.pk, model.sha256)
    if (found := _loaded.get(key)) is not None:
        return found
    with _loading:
        if (found := _loaded.get(key)) is not None:
            return found
        from vision.registry import file_sha256

        path = model.path
        if not path.exists():
            raise FileNotFoundError(f"the file of {model} is missing: {path}")
        if file_sha256(path) != model.sha256:
            raise ValueError(f"the file of {model} does not match its registered SHA-256: {path}")
        ultralytics_ready()
        from ultralytics import YOLO

        yolo = YOLO(str(path))  # the task (detect, segment) and class names come from the file
        found = Detector(name=model.label, image_size=model.image_size,
                         class_map=dict(model.class_map), yolo=yolo, lock=threading.Lock())
        _loaded[key] = found
        return found


def unload(model: DetectorModel) -> None:
    """Forget the process's loaded copy of ``model`` (if any)."""
    _loaded.pop((model.pk, model.sha256), None)
