"""ASGI entry point: Django for HTTP (GraphQL over POST/GET, admin, /healthz), the
GraphQL websocket (graphql-transport-ws only) at the same ``/graphql/`` path."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()  # sets Django up before the API imports models

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import re_path  # noqa: E402

from api.websocket import GraphQLWebsocketConsumer  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter([re_path(r"^graphql/?$", GraphQLWebsocketConsumer.as_asgi())]),
    }
)
