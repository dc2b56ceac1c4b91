"""The detector that serves a model in this process: its fastest registered format (``vision.backends``), loaded
once (``vision.inference``); and loading every serving model at process start."""

from __future__ import annotations

from PIL import Image

from vision.backends import backend_choose
from vision.inference import Detector, load
from vision.models import DetectorModel


def detector_for(model: DetectorModel, candidates: list[DetectorModel] | None = None) -> Detector:
    """The process's loaded detector for ``model``'s version, in the backend this process runs it on
    (``vision.backends.backend_choose``: the fastest format registered, timed once, or among ``candidates``,
    which spares a thread without a database connection the registry read)."""
    return load(backend_choose(model, candidates))


def detectors_preload() -> None:
    """Load every serving model now and run it once on a blank picture (in the background at process start,
    ``VISION_PRELOAD``), so the first photo suggestion or snapshot does not wait seconds for PyTorch, the
    weights and the predictor's first-call setup."""
    import logging

    from vision.registry import detectors_warn, models_serving

    try:
        detectors_warn(logging.getLogger(__name__))  # a server that would answer every photo detectors_unavailable
        for model in models_serving():
            detector_for(model).detect([Image.new("RGB", (model.image_size, model.image_size * 3 // 4))])
    except Exception:  # a missing table or file must not take the process down: loading on first use reports it
        logging.getLogger(__name__).warning("preloading the detectors failed", exc_info=True)
