"""Which backend runs a model: PyTorch, ONNX Runtime or OpenVINO, whichever is fastest here.

One model version may be registered in several formats (``model_export`` makes the ONNX and OpenVINO ones
from the .pt, offline).  A worker picks once per process: ``settings.VISION_BACKEND`` when it names a
registered format; the .pt on CUDA; otherwise each present format is timed on a blank picture at the model's
input size (one warm-up, three runs) and the fastest wins.  Timing beats a fixed rule on CPUs: which backend
wins depends on the instruction set and the threads (on this project's 2-core VM the order changed between
runs; bench/vision.py prints it).
"""

from __future__ import annotations

import logging
import shutil
import statistics
import time
from pathlib import Path

from django.conf import settings
from django.db import transaction
from PIL import Image

from vision.inference import device, load, ultralytics_ready, unload
from vision.models import DetectorModel, ModelFormat

log = logging.getLogger(__name__)

_chosen: dict[tuple, DetectorModel] = {}
#: Per process: each candidate's p50 in ms, for the record (``backend_timings``).
backend_timings: dict[str, float] = {}


def siblings(model: DetectorModel) -> list[DetectorModel]:
    """The active registrations of ``model``'s name and version whose files are present, in format order."""
    from vision.registry import active_models

    return [m for m in active_models() if (m.name, m.version) == (model.name, model.version)] or [model]


def backend_choose(model: DetectorModel, candidates: list[DetectorModel] | None = None) -> DetectorModel:
    """The registration of ``model``'s version this process runs (see the module's docstring), among
    ``candidates`` (default: its ``siblings``, read from the registry)."""
    candidates = candidates or siblings(model)
    key = tuple((m.pk, m.sha256) for m in candidates)
    if (chosen := _chosen.get(key)) is not None:
        return chosen
    by_format = {m.format: m for m in candidates}
    if settings.VISION_BACKEND in by_format:
        chosen = by_format[settings.VISION_BACKEND]
    elif len(candidates) == 1:
        chosen = candidates[0]
    elif device().startswith("cuda") and ModelFormat.TORCH in by_format:
        chosen = by_format[ModelFormat.TORCH]
    else:
        chosen = min(candidates, key=_time)
        for other in candidates:
            if other is not chosen:
                unload(other)  # timed, not run: not kept in memory
        log.info("%s runs on %s here (%s)", model, chosen.format,
                 ", ".join(f"{m.format} {backend_timings[m.label]:.0f} ms" for m in candidates))
    _chosen[key] = chosen
    return chosen


def _time(model: DetectorModel) -> float:
    detector = load(model)
    blank = Image.new("RGB", (model.image_size, model.image_size * 3 // 4), (128, 128, 128))
    detector.detect([blank])
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        detector.detect([blank])
        runs.append((time.perf_counter() - started) * 1000)
    backend_timings[model.label] = statistics.median(runs)
    return backend_timings[model.label]


EXPORT_FORMATS = (ModelFormat.ONNX, ModelFormat.OPENVINO)
#: Ultralytics' export options per format.  Dynamic input shapes let a camera's 4:3 or 16:9 picture be
#: letterboxed to 640 x 480 or 640 x 384 rather than padded to 640 x 640: a quarter to two fifths fewer pixels
#: (`bench/vision.py` times each format per picture).  ONNX is left unsimplified: that needs onnxslim, which is not installed (and
#: Ultralytics would try to install it, offline).
EXPORT_OPTIONS = {ModelFormat.ONNX: {"simplify": False, "dynamic": True},
                  ModelFormat.OPENVINO: {"dynamic": True}}


def openvino_telemetry_declined() -> bool:
    """Decline OpenVINO's usage telemetry (posted to Google Analytics by its model converter unless declined)
    for this account, as its ``opt_in_out --opt_out`` does: the consent file with "0".  A decision already on
    file is the operator's and stays.  Returns whether telemetry is declined now."""
    from openvino_telemetry.utils.opt_in_checker import ConsentCheckResult, OptInChecker

    checker = OptInChecker()
    if checker.consent_file_base_dir() is None:
        return True  # no home folder: the telemetry declines itself
    consent = Path(checker.consent_file())
    decided = consent.read_text().strip() if consent.exists() else ""
    if decided in {"0", "1"}:
        return decided == "0"
    return checker.update_result(ConsentCheckResult.DECLINED)


def model_export(model: DetectorModel, format: str) -> DetectorModel:
    """Export a registered .pt model to ONNX or OpenVINO with Ultralytics (offline) and register the result as
    the same name and version in that format (idempotent: an existing registration is returned).  Raises
    ``ValueError`` for a model that is not a .pt or a format we do not run."""
    from vision.registry import file_sha256

    if model.format != ModelFormat.TORCH or format not in EXPORT_FORMATS:
        raise ValueError(f"only .pt models export, to {', '.join(EXPORT_FORMATS)}")
    existing = DetectorModel.objects.filter(name=model.name, version=model.version, format=format).first()
    if existing is not None and existing.path.exists():
        return existing
    folder = Path(settings.VISION_MODEL_DIR) / model.name / f"v{model.version}-{format}"
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / model.path.name
    shutil.copyfile(model.path, source)
    ultralytics_ready()
    from ultralytics import YOLO

    if format == ModelFormat.OPENVINO:
        openvino_telemetry_declined()
    exported = Path(YOLO(str(source)).export(format=format, imgsz=model.image_size, verbose=False,
                                             **EXPORT_OPTIONS[format]))
    source.unlink()
    with transaction.atomic():
        registered, _created = DetectorModel.objects.update_or_create(
            name=model.name, version=model.version, format=format,
            defaults={"file": str(exported.relative_to(settings.VISION_MODEL_DIR)), "sha256": file_sha256(exported),
                      "image_size": model.image_size, "class_map": model.class_map, "active": True,
                      "origin": f"exported from {model} ({model.origin})"[:200]})
    return registered
