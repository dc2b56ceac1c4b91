"""Print, live, every change a user may see: the websocket subscription from a terminal."""

from __future__ import annotations

import asyncio
import json

import httpx
import websockets
from django.core.management.base import BaseCommand, CommandError

SUBSCRIPTION = "subscription($after: String) { changes(after: $after) { cursor kind at objectType objectId } }"
LOGIN = "mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) { errors { message } accessToken } }"


class Command(BaseCommand):
    help = "Log in as USERNAME against a running server and print each change it may see (Ctrl-C to stop)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--password", required=True)
        parser.add_argument("--url", default="http://127.0.0.1:8000/graphql/")
        parser.add_argument("--after", default=None, help="replay from this cursor first")
        parser.add_argument("--count", type=int, default=0, help="stop after this many changes (0: never)")

    def handle(self, *args, username, password, url, after, count, **options):
        response = httpx.post(url, json={"query": LOGIN, "variables": {"u": username, "p": password}}, timeout=10)
        login = response.json()["data"]["login"]
        if login["errors"]:
            raise CommandError(login["errors"][0]["message"])
        try:
            asyncio.run(self._listen(url.replace("http", "ws", 1), login["accessToken"], after, count))
        except KeyboardInterrupt:
            pass

    async def _listen(self, ws_url: str, token: str, after: str | None, count: int) -> None:
        async with websockets.connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
            ack = json.loads(await ws.recv())
            if ack.get("type") != "connection_ack":
                raise CommandError(f"not acknowledged: {ack}")
            await ws.send(json.dumps({"id": "1", "type": "subscribe",
                                      "payload": {"query": SUBSCRIPTION, "variables": {"after": after}}}))
            self.stdout.write(f"subscribed as {ack.get('payload', {}).get('user')}; waiting for changes...")
            seen = 0
            async for raw in ws:
                message = json.loads(raw)
                if message["type"] == "next":
                    change = message["payload"]["data"]["changes"]
                    self.stdout.write(f"cursor={change['cursor']:>6}  {change['at']}  {change['kind']:<24} "
                                      f"{change['objectType']}:{change['objectId']}")
                    seen += 1
                    if count and seen >= count:
                        return
                else:
                    self.stdout.write(json.dumps(message, ensure_ascii=False))
                    if message["type"] in {"error", "complete"}:
                        return
