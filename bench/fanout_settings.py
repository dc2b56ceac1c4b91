"""Settings for bench/fanout.py's server: OneGrid's own, plus the baseline's channel layer.

The baseline's layer is OneGrid's Redis layer with a connection pool that does not run out: with redis-py's
default of 100 connections, a few hundred consumers joining a group at once fail with ``Too many connections``.
"""

from config.settings import *  # noqa: F403
from config.settings import CHANNEL_LAYERS

CHANNEL_LAYERS = {
    **CHANNEL_LAYERS,
    "bench": {**CHANNEL_LAYERS["default"], "CONFIG": {
        **CHANNEL_LAYERS["default"]["CONFIG"],
        "hosts": [{**host, "max_connections": 20_000} for host in CHANNEL_LAYERS["default"]["CONFIG"]["hosts"]],
        "prefix": "onegrid-bench-fanout",
    }},
}
