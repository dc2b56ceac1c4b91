"""``/graphql/`` over websockets: graphql-transport-ws only, token in ``connection_init``.

The handshake is refused for a foreign Origin (strawberry's check against
``WEBSOCKET_ALLOWED_ORIGINS``); ``connection_init`` must carry
``{"Authorization": "Bearer <token>"}`` (or ``{"token": "<token>"}``) or the
socket closes with 4403 and the reason's code (``unauthenticated``,
``token_expired``, ``token_revoked``, ``token_invalid``); ``subscribe`` before
``connection_ack`` closes it with 4401.
"""

from __future__ import annotations

import datetime as dt
import json

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from strawberry.channels import GraphQLWSConsumer
from strawberry.channels.handlers.ws_handler import ChannelsWebSocketAdapter
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler

from accounts.services import AuthError, bearer_authenticate
from api.context import Viewer, client_ip_from_scope_or_meta
from api.i18n import language_from_header
from api.multiplex import current_operation, data_json, next_frame
from api.schema import schema


class _Adapter(ChannelsWebSocketAdapter):
    async def close(self, code: int, reason: str) -> None:
        # strawberry closes every rejected connection_init with "Forbidden";
        # say why, so the app knows whether to refresh its token or log in.
        rejection = getattr(self.ws_consumer, "onegrid_rejection", None)
        if code == 4403 and rejection:
            reason = rejection
        await super().close(code, reason)


class _TransportWSHandler(BaseGraphQLTransportWSHandler):
    async def run_operation(self, operation) -> None:
        # The operation's own task: its subscription finds here where to write directly (``api.multiplex``).
        current_operation.set(operation)
        await super().run_operation(operation)


class GraphQLWebsocketConsumer(GraphQLWSConsumer):
    websocket_adapter_class = _Adapter
    graphql_transport_ws_handler_class = _TransportWSHandler
    # No channel of its own on the channel layer: subscriptions are woken by the process's one change watcher
    # (api/watcher.py).  A receive loop per socket would tie every socket's life to Redis: one timeout or one
    # restart of Redis and the consumer dies, closing the socket with no close code.
    channel_layer_alias = "none"

    def __init__(self, **kwargs):
        limits = settings.GRAPHQL
        kwargs.setdefault("schema", schema)
        kwargs.setdefault("subscription_protocols", (GRAPHQL_TRANSPORT_WS_PROTOCOL,))
        kwargs.setdefault("max_subscriptions_per_connection", limits["MAX_SUBSCRIPTIONS_PER_CONNECTION"])
        kwargs.setdefault("allowed_origins", tuple(settings.WEBSOCKET_ALLOWED_ORIGINS))
        kwargs.setdefault("connection_init_wait_timeout", dt.timedelta(seconds=10))
        super().__init__(**kwargs)

    def encode_json(self, data: object) -> str:
        """A message as JSON; a ``next`` message's data that other sockets already sent (one change to many
        subscribers, executed once: ``api.execution.SharedPayload``) is encoded once for all of them."""
        if type(data) is dict and data.get("type") == "next":
            payload = data.get("payload")
            if type(payload) is dict and payload.keys() == {"data"}:
                return next_frame(data["id"], data_json(payload["data"]))
        return json.dumps(data, separators=(",", ":"))

    async def get_context(self, request, response):
        headers = {name.decode("latin1").lower(): value.decode("latin1") for name, value in self.scope["headers"]}
        client = self.scope.get("client") or (None, None)
        self.onegrid_rejection = None
        self.onegrid_viewer = Viewer(
            user=AnonymousUser(),
            token=None,
            client_ip=client_ip_from_scope_or_meta(forwarded_for=headers.get("x-forwarded-for"), remote_addr=client[0]),
            user_agent=headers.get("user-agent", "")[:200],
            language=language_from_header(headers.get("accept-language")),
        )
        return {"request": self, "ws": self, "connection_params": None}

    async def on_ws_connect(self, context):
        params = context.get("connection_params") or {}
        credentials = params.get("Authorization") or params.get("authorization") or params.get("token")
        try:
            user, token = await database_sync_to_async(bearer_authenticate)(credentials, required=True, bare=True)
        except AuthError as error:
            self.onegrid_rejection = error.code
            raise ConnectionRejectionError({"code": error.code}) from None
        self.onegrid_viewer.user = user
        self.onegrid_viewer.token = token
        return {"user": user.get_username()}
