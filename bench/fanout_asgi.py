"""The ASGI application of bench/fanout.py: OneGrid's own, plus the baseline's websocket at ``/bench/group/``.

The baseline is what a subscription costs when each socket's consumer has a channel of its own in a
channels-redis group: ``group_send`` puts the message in every member's channel, and each consumer receives it
and writes it to its socket.  No authentication, no GraphQL: the channel layer's part alone.
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.fanout_settings")
django.setup()  # before the imports below, which need models

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import re_path  # noqa: E402

from api.websocket import GraphQLWebsocketConsumer  # noqa: E402
from config.asgi import application as onegrid  # noqa: E402

GROUP = "bench.fanout"


class GroupMember(AsyncWebsocketConsumer):
    channel_layer_alias = "bench"

    async def connect(self) -> None:
        await self.accept("graphql-transport-ws")
        await self.channel_layer.group_add(GROUP, self.channel_name)

    async def disconnect(self, code) -> None:
        await self.channel_layer.group_discard(GROUP, self.channel_name)

    async def bench_message(self, event) -> None:
        await self.send(text_data=event["text"])


application = ProtocolTypeRouter({
    "http": onegrid.application_mapping["http"],
    "websocket": URLRouter([
        re_path(r"^graphql/?$", GraphQLWebsocketConsumer.as_asgi()),
        re_path(r"^bench/group/?$", GroupMember.as_asgi()),
    ]),
})
