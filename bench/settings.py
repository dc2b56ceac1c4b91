"""Settings for the API benchmark's server: OneGrid's own, plus the hand-written baseline views (bench/urls.py)."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
