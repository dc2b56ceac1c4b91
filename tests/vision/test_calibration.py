"""Photo suggestions claim only what the detectors are measured to see: per-class thresholds chosen on labelled
pictures that ship with registry packages (Ultralytics' and matplotlib's wheels, Debian's darknet and
opencv-doc), a class the model is known to confuse proposing nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.vision.conftest import BUS
from vision import calibration
from vision.calibration import LabelledPicture, class_scores, class_thresholds, threshold_choose
from vision.detections import Detection

DARKNET = Path("/usr/share/darknet/data")  # Debian's darknet (.ci/run installs it)
SUGGEST = """mutation($photo: Upload!) { suggestEventCategories(photo: $photo) {
  errors { code } suggestions { category { code } confidence objects } description objects { label confidence }
} }"""


def _suggest(gql, token, path: Path) -> dict:
    assert path.exists(), f"{path}: apt-get install darknet (.ci/run does)"
    answer = gql.upload(SUGGEST, {"photo": None}, {"photo": path.read_bytes()}, token=token, language="en")
    payload = answer.data["suggestEventCategories"]
    assert payload["errors"] == []
    return payload


@pytest.mark.django_db
def test_an_eagle_and_horses_suggest_no_bicycles_and_the_bus_keeps_its_crowd(gql, users, token_for, detectors,
                                                                              event_categories, settings):
    settings.VISION_SUGGEST_WAIT_SECONDS = 60  # the models load in the first request: no ticket
    token = token_for(users["worker"])
    for picture in ("eagle.jpg", "horses.jpg"):  # "bicycle" at 0.89 and 0.45 before: both suggested 05-05
        payload = _suggest(gql, token, DARKNET / picture)
        assert payload["suggestions"] == [], (picture, payload)
        assert "bicycle" not in [o["label"] for o in payload["objects"]]
        assert payload["description"] == ""
    bus = _suggest(gql, token, BUS)
    crowd = next(s for s in bus["suggestions"] if s["category"]["code"] == "05-08")
    assert crowd["objects"] == 4
    assert "Person × 4" in bus["description"]


@pytest.mark.django_db
def test_the_committed_thresholds_are_what_the_measurement_on_the_labelled_pictures_chooses(detectors, capsys):
    call_command("calibrate_detectors", "--check")  # raises CommandError when vision/thresholds.json differs
    printed = capsys.readouterr().out
    assert "23 labelled pictures" in printed
    assert "vehicle v1 bicycle: chosen off (no suggestion); seen where there is none: " in printed
    assert "eagle.jpg 0.89" in printed  # the confusion behind it, measured
    assert "person v1 person: chosen 0.4" in printed
    assert "conf   objects: tp  fp  fn  prec  rec   suggestions: made wrong due  prec  rec" in printed


def test_a_missing_labelled_picture_names_the_package_to_install(tmp_path, monkeypatch):
    labels = tmp_path / "pictures.json"
    labels.write_text('{"pictures": [{"registry": "debian", "package": "no-such-package", "path": "/nonexistent.jpg",'
                      ' "sha256": "0", "objects": {}}]}')
    monkeypatch.setattr(calibration, "PICTURES_FILE", labels)
    with pytest.raises(CommandError, match="install the debian package no-such-package"):
        call_command("calibrate_detectors")


def _picture(name: str, **objects) -> LabelledPicture:
    return LabelledPicture(name, Path(name), objects)


def test_a_class_confused_above_its_real_finds_suggests_nothing():
    pictures = [_picture("eagle"), _picture("dog", bicycle=1), _picture("painting")]
    seen = [[Detection("bicycle", 0.89, (0, 0, 1, 1))], [Detection("bicycle", 0.55, (0, 0, 1, 1))],
            [Detection("bicycle", 0.62, (0, 0, 1, 1))]]
    scores = class_scores("bicycle", pictures, seen)
    assert threshold_choose(scores) is None
    at_half = next(score for score in scores if score.threshold == 0.5)
    assert (at_half.tp, at_half.fp, at_half.fn, at_half.suggested, at_half.wrong) == (1, 2, 0, 3, ("eagle", "painting"))


def test_the_lowest_threshold_without_a_wrong_suggestion_is_chosen_counting_a_crowd_from_three():
    people = [Detection("person", confidence, (0, 0, 1, 1)) for confidence in (0.7, 0.6, 0.52)]
    fruit = [Detection("person", confidence, (0, 0, 1, 1)) for confidence in (0.65, 0.6, 0.36)]
    pictures = [_picture("street", person=3), _picture("fruit")]
    scores = class_scores("person", pictures, [people, fruit], needed=3)
    assert threshold_choose(scores) == 0.4  # three "people" in the fruit up to 0.36; the street's three to 0.52
    assert [score.threshold for score in scores if not score.wrong and score.suggested] == [0.4, 0.45, 0.5]


@pytest.mark.django_db
def test_weights_never_calibrated_keep_the_default_threshold(detectors):
    from vision import suggestions

    assert class_thresholds(detectors["vehicle"])["bicycle"] is None
    detectors["vehicle"].sha256 = "f" * 64  # other weights registered under the same name and version
    assert class_thresholds(detectors["vehicle"]) is None
    served = {model.name: least for model, _registrations, least in suggestions._models()}
    assert served["vehicle"]["bicycle"] is None and served["person"]["person"] == 0.4
