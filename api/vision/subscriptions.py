"""The answer to a photo's suggestion ticket, over a websocket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import strawberry
from channels.db import database_sync_to_async
from django.utils.translation import gettext as _
from strawberry import relay

from api.base.ids import node_pk_or_none
from api.context import viewer
from api.errors import GraphQLCodedError, not_authenticated
from api.feed import visible_changes
from api.vision.errors import VisionError
from api.vision.mutations import PhotoSuggestionPayload
from api.watcher import watcher
from vision.detections import Detection
from vision.models import PhotoSuggestion
from vision.suggestions import suggestions_from


@strawberry.type
class VisionSubscription:
    @strawberry.subscription(description=(
        "The suggestions for a photo that `suggestEventCategories` answered with a ticket: one message when the "
        "detectors are done (at once if they are already), then the subscription ends.  Only the user who sent "
        "the photo may subscribe.  After a minute without an answer, a message with the error "
        "`suggestions_timeout`; `detectors_failed` when the detectors failed on the photo."
    ))
    async def photo_suggestions(self, info: strawberry.Info,
                                ticket: relay.GlobalID) -> AsyncGenerator[PhotoSuggestionPayload, None]:
        who = viewer(info)
        if not who.user.is_authenticated:
            raise not_authenticated()
        await watcher.ensure_started()
        start = watcher.latest  # before reading the ticket: a change after this is not missed
        pk = node_pk_or_none(ticket, "PhotoSuggestion")
        found = await _ticket_for(who.user, pk)
        if found is None:
            raise GraphQLCodedError(_("No such suggestion ticket (it may have expired)."), "not_found")
        if found.done_at is None:
            try:
                async with asyncio.timeout(SUGGESTION_TIMEOUT_SECONDS):
                    async for _user, change in visible_changes(who, start):
                        if change.object_type == PhotoSuggestion._meta.label_lower and change.object_id == found.pk:
                            break
            except TimeoutError:
                pass
            found = await _ticket_for(who.user, pk)
        yield await _ticket_payload(found)


#: How long `photoSuggestions` waits for the detectors (a process that died with the job never answers).
SUGGESTION_TIMEOUT_SECONDS = 60


@database_sync_to_async
def _ticket_for(user, pk: int | None) -> PhotoSuggestion | None:
    return PhotoSuggestion.objects.filter(pk=pk, user=user).first() if pk is not None else None


@database_sync_to_async
def _ticket_payload(ticket: PhotoSuggestion | None) -> PhotoSuggestionPayload:
    if ticket is None or ticket.done_at is None:
        return PhotoSuggestionPayload(errors=[VisionError.of(
            "suggestions_timeout", _("The detectors did not answer in time; try the photo again."))])
    if ticket.failed:
        return PhotoSuggestionPayload(errors=[VisionError.of(
            "detectors_failed", _("The detectors failed on this photo."))])
    return PhotoSuggestionPayload.of(suggestions_from([Detection(label, confidence, tuple(box))
                                                       for label, confidence, *box in ticket.detections]))
