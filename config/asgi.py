"""ASGI entry point: Django for HTTP (GraphQL over POST/GET, admin, /healthz), the
GraphQL websocket (graphql-transport-ws only) at the same ``/graphql/`` path, and
the chargers' OCPP 1.6J websockets at ``/ocpp/<identity>``."""

import gc
import os

from django.conf import settings
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()  # sets Django up before the API imports models

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import re_path  # noqa: E402

from api.websocket import GraphQLWebsocketConsumer  # noqa: E402
from parks.ocpp import OcppConsumer  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter([
            re_path(r"^graphql/?$", GraphQLWebsocketConsumer.as_asgi()),
            # EV chargers: OneGrid is their OCPP 1.6J central system (parks/ocpp.py).
            re_path(r"^ocpp/(?P<identity>[A-Za-z0-9_-]{1,48})/?$", OcppConsumer.as_asgi()),
        ]),
    }
)

# Everything loaded so far (Django, the schema, the models, with VISION_PRELOAD the detectors) lives as long as
# the process: frozen out of the collector's sight.  And the youngest generation is collected after
# GC_GEN0_THRESHOLD allocations instead of 700, so that what a request or a message makes mostly dies before a
# collection rather than being promoted, which is what set off the full collections: under a fan-out to
# thousands of sockets they paused the process for a large part of a second every few seconds.  Not much more
# (2,000 by default): each young collection pauses the process for about 0.4 ms per 1,000 objects it looks
# at (the cycles requests leave), 35-40 ms at 100,000, which became the p99 of plain HTTP requests.  Measured
# with a gc.callbacks timer in the servers of `bench/fanout.py --only latency` and `bench/certificates.py`;
# figures in bench/README.md.
gc.freeze()
gc.set_threshold(settings.GC_GEN0_THRESHOLD, 50, 100)
