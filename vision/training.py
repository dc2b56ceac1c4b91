"""Training our own detectors from what staff boxed on confirmed incidents' photos.

``training_data_export`` writes a YOLO dataset (``images/``, ``labels/``, ``data.yaml``) from the boxes
(``PhotoBox``) on photos of incidents the office confirmed; ``detector_train`` trains Ultralytics on it, offline,
and registers the best weights as the next version of a ``DetectorModel``, which then serves its classes (the
newest active model serving a class wins, ``registry.serving_models``).  The dataset's class names are
OneGrid's own ``ObjectClass`` values, so the trained file needs no translation.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.validators import validate_slug
from django.db import transaction
from tqdm import tqdm

from gridapp.incidents.models import EventStatus
from vision.detections import ObjectClass
from vision.inference import device as inference_device
from vision.inference import ultralytics_ready
from vision.models import DetectorModel, ModelFormat, PhotoBox
from vision.registry import file_sha256

#: Incidents the office took on.  A report still waiting (reported), refused (rejected, void) or merged into
#: another (duplicate) is not known to show what it says, so its photos teach nothing.
CONFIRMED_STATUSES = frozenset({
    EventStatus.ACCEPTED, EventStatus.DISPATCHED, EventStatus.IN_PROGRESS, EventStatus.ON_HOLD,
    EventStatus.RESOLVED, EventStatus.VERIFIED, EventStatus.CLOSED,
})

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})

#: The Ultralytics arguments ``detector_train`` decides itself (or takes as its own parameters).
_OWN_ARGUMENTS = frozenset({"data", "epochs", "imgsz", "batch", "device", "seed", "project", "name", "exist_ok"})


@dataclass(frozen=True)
class DatasetSummary:
    """What ``training_data_export`` wrote."""

    folder: Path
    data_yaml: Path
    names: tuple[str, ...]  # the class of each index
    images: int
    train: int
    val: int
    boxes: dict[str, int]  # boxes per class
    missing: int = 0  # qualifying photos whose file was gone from the storage (left out)


def _object_classes(names: Sequence[str], *, what: str) -> list[str]:
    unknown = sorted({name for name in names if name not in ObjectClass.values})
    if unknown:
        raise ValueError(f"{what} {', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not OneGrid "
                         f"object classes (one of: {', '.join(ObjectClass.values)})")
    return list(dict.fromkeys(names))


def _show_progress(progress: bool | None) -> bool:
    return sys.stderr.isatty() if progress is None else progress


def _split_key(seed: int, photo_id: int) -> float:
    digest = hashlib.sha256(f"{seed}:{photo_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _prepare(out: Path) -> None:
    """Make ``out`` ready for a dataset: a previous export in it is replaced, anything else is refused."""
    out.mkdir(parents=True, exist_ok=True)
    ours = [out / "images", out / "labels"]
    if any(path.exists() for path in ours):
        if not (out / "data.yaml").exists():
            raise ValueError(f"{out} already holds images/ or labels/ that are not an earlier export: "
                             "choose an empty folder")
        for path in ours:
            shutil.rmtree(path, ignore_errors=True)
    for split in ("train", "val"):
        (out / "images" / split).mkdir(parents=True)
        (out / "labels" / split).mkdir(parents=True)


def _label_line(index: int, box: PhotoBox) -> str | None:
    x1, y1 = max(0.0, box.x1), max(0.0, box.y1)
    x2, y2 = min(1.0, box.x2), min(1.0, box.y2)
    if x2 <= x1 or y2 <= y1:
        return None
    return f"{index} {(x1 + x2) / 2:.6f} {(y1 + y2) / 2:.6f} {x2 - x1:.6f} {y2 - y1:.6f}\n"


def training_data_export(*, out: Path, labels: Sequence[str] | None = None, val_fraction: float = 0.2,
                         seed: int = 0, progress: bool | None = None) -> DatasetSummary:
    """Write a YOLO dataset in ``out`` from the boxed photos of confirmed incidents (``CONFIRMED_STATUSES``).

    A photo qualifies when staff boxed at least one object on it (of ``labels``, when given) and its incident
    is confirmed; its stored display JPEG is copied (the boxes are normalised to it).  The classes are
    ``labels`` in the order given, else the classes boxed, sorted.  Each photo goes to ``val`` with
    probability ``val_fraction``, decided by a hash of ``seed`` and its id (the same photo stays on the same
    side however the data grows); with two photos or more, each side gets at least one (a single photo
    trains).  A previous export in ``out`` is replaced.  Shows a progress bar on a terminal (``progress``
    forces it on or off).

    Who may call: staff tools (``manage.py export_training_data``).  Raises ``ValueError`` when no photo
    qualifies, for a label that is not an ``ObjectClass`` value, a ``val_fraction`` outside [0, 1) or an
    ``out`` holding something else.
    """
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be at least 0 and below 1, not {val_fraction}")
    wanted = _object_classes(labels, what="the labels") if labels is not None else None
    boxes = PhotoBox.objects.filter(photo__event__status__in=CONFIRMED_STATUSES).select_related("photo")
    if wanted is not None:
        boxes = boxes.filter(label__in=wanted)
    by_photo: dict[int, list[PhotoBox]] = defaultdict(list)
    photos = {}
    for box in boxes.order_by("photo_id", "id"):
        by_photo[box.photo_id].append(box)
        photos[box.photo_id] = box.photo
    if not photos:
        of = f" of {', '.join(wanted)}" if wanted else ""
        raise ValueError(f"no photo of a confirmed incident has boxed objects{of}: box the objects on the photos "
                         "of accepted incidents first")
    names = wanted if wanted is not None else sorted({box.label for found in by_photo.values() for box in found})
    index = {name: i for i, name in enumerate(names)}
    out = Path(out)
    _prepare(out)

    kept: list[int] = []
    missing = 0
    for photo_id in tqdm(sorted(photos), desc="photos", unit="photo", disable=not _show_progress(progress)):
        try:
            with default_storage.open(photos[photo_id].image, "rb") as stored, \
                    (out / "images" / "train" / f"{photo_id}.jpg").open("wb") as copy:
                shutil.copyfileobj(stored, copy)
        except FileNotFoundError:
            (out / "images" / "train" / f"{photo_id}.jpg").unlink(missing_ok=True)
            missing += 1
            continue
        kept.append(photo_id)
    if not kept:
        raise ValueError(f"the files of all {missing} qualifying photos are missing from the storage")

    keys = {photo_id: _split_key(seed, photo_id) for photo_id in kept}
    val = {photo_id for photo_id in kept if keys[photo_id] < val_fraction} if len(kept) >= 2 else set()
    if len(kept) >= 2 and not val:
        val = {min(kept, key=keys.get)}
    elif len(kept) >= 2 and len(val) == len(kept):
        val.discard(max(kept, key=keys.get))
    counts: Counter[str] = Counter()
    for photo_id in kept:
        split = "val" if photo_id in val else "train"
        if split == "val":
            (out / "images" / "train" / f"{photo_id}.jpg").replace(out / "images" / "val" / f"{photo_id}.jpg")
        lines = [line for box in by_photo[photo_id] if (line := _label_line(index[box.label], box))]
        counts.update(box.label for box in by_photo[photo_id])
        (out / "labels" / split / f"{photo_id}.txt").write_text("".join(lines))

    data_yaml = out / "data.yaml"
    data_yaml.write_text(yaml.safe_dump({
        "path": str(out.resolve()), "train": "images/train", "val": "images/val",
        "names": dict(enumerate(names)),
    }, sort_keys=False, allow_unicode=True))
    return DatasetSummary(folder=out, data_yaml=data_yaml, names=tuple(names), images=len(kept),
                          train=len(kept) - len(val), val=len(val), boxes={name: counts[name] for name in names},
                          missing=missing)


def _dataset(data_yaml: Path) -> tuple[list[str], int]:
    """The class names of a YOLO ``data.yaml`` in index order, and how many images it trains and validates on."""
    try:
        data = yaml.safe_load(data_yaml.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise ValueError(f"cannot read {data_yaml}: {error}") from None
    names = data.get("names") if isinstance(data, dict) else None
    if isinstance(names, dict):
        names = [names[key] for key in sorted(names)]
    if not names or not all(isinstance(name, str) for name in names):
        raise ValueError(f"{data_yaml} names no classes")
    root = Path(data.get("path") or data_yaml.parent)
    root = root if root.is_absolute() else data_yaml.parent / root
    images = 0
    for part in ("train", "val"):
        entries = data.get(part) or []
        for entry in [entries] if isinstance(entries, str) else entries:
            where = root / entry
            if where.is_dir():
                images += sum(1 for path in where.rglob("*") if path.suffix.lower() in IMAGE_SUFFIXES)
            elif where.is_file():
                images += sum(1 for line in where.read_text().splitlines() if line.strip())
    return names, images


def _base_model(base: str) -> str:
    """What Ultralytics builds from: an existing file (a .pt to fine-tune, a model YAML), or the name of one of
    its own model YAMLs (``yolo11n.yaml``: random weights, nothing to download)."""
    path = Path(base)
    if path.is_file():
        return str(path)
    if path.suffix in {".yaml", ".yml"} and len(path.parts) == 1:
        return base
    raise ValueError(f"the base {base!r} is neither a file nor a model YAML such as yolo11n.yaml (weights cannot "
                     "be downloaded here: give the path of a .pt file, e.g. a registered model's)")


def detector_train(*, data_yaml: Path, name: str, base: str = "yolo11n.yaml", epochs: int = 50,
                   image_size: int = 640, batch: int = 16, device: str | None = None, seed: int = 0,
                   hyperparameters: Mapping[str, object] | None = None) -> DetectorModel:
    """Train a detector on the dataset of ``data_yaml`` with Ultralytics, offline, and register it as the next
    version of ``name``.

    ``base`` is a model YAML (trained from scratch) or the path of a .pt file to fine-tune (a registered
    model's file, say).  The run goes to ``settings.VAR_DIR / "training" / name`` (replacing that name's
    previous run); its best weights are copied to ``settings.VISION_MODEL_DIR / name / "<name>-v<version>.pt"``
    and registered, class map the identity: the dataset's names must be ``ObjectClass`` values.  The run is
    seeded and deterministic; ``hyperparameters`` go to Ultralytics as they are (``lr0``, ``mosaic``, ...).
    ``device`` defaults to the inference device (``detector.device()``).

    Who may call: staff tools (``manage.py train_detector``); it takes minutes to hours.  Raises
    ``ValueError`` for a dataset that cannot be read or names classes that are not ``ObjectClass`` values, a
    bad ``name`` or ``base``, or hyperparameters that repeat this function's own arguments; ``RuntimeError``
    when the run leaves no weights.
    """
    data_yaml = Path(data_yaml)
    try:
        validate_slug(name)
    except ValidationError:
        raise ValueError(f"the name {name!r} must be a slug (letters, digits, - and _)") from None
    if len(name) > DetectorModel._meta.get_field("name").max_length:
        raise ValueError(f"the name {name!r} is too long")
    if epochs < 1 or image_size < 32 or batch < 1:
        raise ValueError("epochs and batch must be at least 1, the image size at least 32")
    clash = sorted(_OWN_ARGUMENTS & set(hyperparameters or {}))
    if clash:
        raise ValueError(f"give {', '.join(clash)} as detector_train's own arguments, not as hyperparameters")
    if not data_yaml.is_file():
        raise ValueError(f"no dataset at {data_yaml}")
    names, images = _dataset(data_yaml)
    _object_classes(names, what="the dataset's classes")
    model_source = _base_model(base)

    ultralytics_ready()
    import torch
    from ultralytics import YOLO

    # Ultralytics switches on deterministic algorithms for the whole process; the serving code after us has
    # not asked for that.
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    yolo = YOLO(model_source)
    try:
        yolo.train(
            data=str(data_yaml), epochs=epochs, imgsz=image_size, batch=batch, device=device or inference_device(),
            seed=seed, deterministic=True, amp=False, plots=False, workers=0, verbose=False,
            project=str(Path(settings.VAR_DIR) / "training"), name=name, exist_ok=True, **(hyperparameters or {}))
    finally:
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
    best = Path(yolo.trainer.save_dir) / "weights" / "best.pt"
    if not best.is_file():
        raise RuntimeError(f"the training run left no weights at {best}")
    return _trained_register(best, name=name, image_size=image_size, names=names,
                             origin=f"trained by train_detector: {epochs} epochs on {data_yaml} ({images} images)")


def _trained_register(weights: Path, *, name: str, image_size: int, names: Sequence[str],
                      origin: str) -> DetectorModel:
    with transaction.atomic():
        latest = DetectorModel.objects.select_for_update().filter(name=name).order_by("-version").first()
        version = latest.version + 1 if latest else 1
        relative = Path(name) / f"{name}-v{version}.pt"
        target = Path(settings.VISION_MODEL_DIR) / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        shutil.copyfile(weights, partial)
        partial.replace(target)
        try:
            return DetectorModel.objects.create(
                name=name, version=version, file=str(relative), format=ModelFormat.TORCH,
                sha256=file_sha256(target), image_size=image_size, class_map={n: n for n in names},
                origin=origin[:200])
        except BaseException:
            target.unlink(missing_ok=True)
            raise
