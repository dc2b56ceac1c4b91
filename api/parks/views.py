"""What gates and visitors reach without signing in.

- ``/parks/<park>/jwks.json``: the park's public keys, which a gate is enrolled with.
- ``/parks/<park>/gates/<gate>/bundle?since=N``: the gate's signed bundle (its rule, the revocations after N).
- ``POST /parks/passages``: an offline gate's signed log (``passkit.sync``); stored once, whatever is sent twice.
- ``/parks/visit/<token>``: a visitor's page, their code as a QR code that changes every step, and the code alone
  as a picture (``code.png``, ``code.svg``) for a message.
- ``/parks/lamp-posts/<post>/playlist`` and ``POST .../plays``: a lamp post's player (its key as a Bearer token)
  asks what to play now and reports what it played.

Every answer is a verdict or a typed error; a forged upload is refused with its reason and logged.
"""

from __future__ import annotations

import json
import logging

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from accounts.services import AuthError, bearer_authenticate
from api.base.charts import chart_response
from api.base.ids import node_pk_or_none
from api.errors import json_error, unauthorized_response
from api.parks.mapimage import park_map_figure
from core.files import file_link_sign
from core.qr import qr_png, qr_svg
from parks.keys import park_jwks
from parks.lampposts import VIDEO_KIND, lamp_post_authenticate, playlist_now, plays_report
from parks.map import park_map
from parks.models import Gate, LampPost, Park
from parks.selectors import staff_of
from parks.services import gate_bundle, passages_upload
from parks.visitors import visitor_pass
from passkit.sync import SyncError

log = logging.getLogger(__name__)

#: The largest upload taken: a full batch of entries is well under it.
MAX_UPLOAD_BYTES = 1_000_000
COSE_TYPE = 'application/cose; cose-type="cose-sign1"'


@require_GET
def park_jwks_view(request: HttpRequest, park: str) -> HttpResponse:
    found = Park.objects.filter(code=park).first()
    if found is None:
        return json_error(404, "not_found", _("No such park."))
    response = JsonResponse(park_jwks(park=found))
    response["Cache-Control"] = "public, max-age=300"
    return response


@require_GET
def gate_bundle_view(request: HttpRequest, park: str, gate: str) -> HttpResponse:
    since = request.GET.get("since", "-1")
    if not since.lstrip("-").isdigit() or len(since) > 12:
        return json_error(400, "invalid", _("since is the revocation version the gate holds (-1: none)."))
    found = Gate.objects.select_related("park", "building").filter(park__code=park, code=gate, active=True).first()
    if found is None:
        return json_error(404, "not_found", _("No such gate."))
    response = HttpResponse(gate_bundle(park=found.park, gate=found, since=int(since)), content_type=COSE_TYPE)
    response["Cache-Control"] = "no-store"
    return response


UPLOAD_STATUS = {"unknown_gate": 403, "unknown_key": 403, "bad_signature": 403, "too_large": 413}


@csrf_exempt
@require_POST
def passages_upload_view(request: HttpRequest) -> HttpResponse:
    """``{"accepted", "duplicates", "refused": [[id, reason]], "stored": [ids]}``; 4xx with the reason's code
    for an upload refused whole."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_UPLOAD_BYTES:
        return json_error(413, "too_large", _("An upload is at most 1 MB: send the log in batches."))
    try:
        result = passages_upload(data=request.read(MAX_UPLOAD_BYTES + 1))
    except SyncError as error:
        return json_error(UPLOAD_STATUS.get(error.reason, 400), error.reason, _("The upload was refused."))
    return JsonResponse({"accepted": result.accepted, "duplicates": result.duplicates,
                         "refused": [list(item) for item in result.refused], "stored": list(result.stored)})


def _language(request: HttpRequest) -> str:
    asked = request.GET.get("lang")
    return asked if asked in ("en", "zh-hans") else translation.get_language()


STATE_TEXT = {
    "ok": lambda: _("Show this code at the gate. It changes every 30 seconds; this page follows."),
    "not_yet": lambda: _("Your visit has not started yet: the gates will let you through from its start."),
    "over": lambda: _("This visit is over."),
    "withdrawn": lambda: _("Your host has withdrawn this invitation."),
}


@require_GET
def visitor_page(request: HttpRequest, token: str) -> HttpResponse:
    """The visitor's page: who invited them, where, when, and the code to show (reloads each step)."""
    with translation.override(_language(request)):
        found = visitor_pass(token=token)
        if found is None:
            return json_error(404, "not_found", _("No such invitation."))
        invitation = found.invitation
        english = translation.get_language() == "en"
        places = [(b.name_en if english and b.name_en else b.name) for b in invitation.buildings.all()]
        places += [(g.name_en if english and g.name_en else g.name) for g in invitation.gates.all()]
        context = {
            "lang": translation.get_language(), "state": found.state, "message": STATE_TEXT[found.state](),
            "qr": qr_svg(found.code).decode() if found.code else "", "refresh": found.refresh_in,
            "park": invitation.park.name_en if english and invitation.park.name_en else invitation.park.name,
            "host": invitation.host.enterprise.name_en if english and invitation.host.enterprise.name_en
            else invitation.host.enterprise.name,
            "visitor": invitation.visitor_name, "purpose": invitation.purpose, "places": places,
            "start": timezone.localtime(invitation.valid_from), "end": timezone.localtime(invitation.valid_until),
            "here": request.path,
        }
        response = render(request, "parks/visit.html", context, status=410 if found.state in ("over", "withdrawn")
                          else 200)
    response["Cache-Control"] = "no-store"
    response["Content-Language"] = context["lang"]
    return response


@require_GET
def visitor_code_view(request: HttpRequest, token: str, fmt: str) -> HttpResponse:
    """The visitor's current code alone, as a picture (PNG or SVG)."""
    found = visitor_pass(token=token)
    if found is None:
        return json_error(404, "not_found", _("No such invitation."))
    if not found.code:
        return json_error(410, found.state, str(STATE_TEXT[found.state]()))
    data, kind = (qr_svg(found.code), "image/svg+xml") if fmt == "svg" else (qr_png(found.code), "image/png")
    response = HttpResponse(data, content_type=kind)
    response["Cache-Control"] = f"private, max-age={found.refresh_in}"
    return response


# --- lamp posts ----------------------------------------------------------------------------------------------------

#: A player asks again at least this often (sooner when its slot ends); between, it sends If-None-Match.
PLAYLIST_MAX_AGE = 60
MAX_PLAYS_BYTES = 256_000


def _post(request: HttpRequest, code: str) -> LampPost | None:
    header = request.headers.get("Authorization", "")
    key = header[7:].strip() if header.startswith("Bearer ") else None
    return lamp_post_authenticate(code=code, key=key)


@require_GET
def lamp_post_playlist_view(request: HttpRequest, code: str) -> HttpResponse:
    """A post's current playlist: its videos in order with signed links to download them, a version (also the
    ETag: a player that holds it gets 304) and when to ask again at the latest."""
    post = _post(request, code)
    if post is None:
        return json_error(401, "unknown_post", _("Unknown lamp post or wrong key."))
    playlist = playlist_now(posts=[post])[post.pk]
    etag = f'"{playlist.version}"'
    seconds = max(1, min(PLAYLIST_MAX_AGE, int((playlist.valid_until - timezone.now()).total_seconds())))
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    else:
        response = JsonResponse({
            "post": post.code, "version": playlist.version, "validUntil": playlist.valid_until.isoformat(),
            "slot": playlist.slot.name if playlist.slot else None,
            "items": [{"video": video.pk, "title": video.title, "sha256": video.sha256, "bytes": video.size,
                       "seconds": video.seconds, "contentType": video.content_type,
                       "url": file_link_sign(kind=VIDEO_KIND, pk=video.pk, variant="f")}
                      for video in playlist.videos]}, json_dumps_params={"ensure_ascii": False})
    response["ETag"] = etag
    response["Cache-Control"] = f"private, max-age={seconds}"
    return response


@csrf_exempt
@require_POST
def lamp_post_plays_view(request: HttpRequest, code: str) -> HttpResponse:
    """What a post played: ``{"plays": [{"video", "startedAt", "seconds"}]}``; each play stored once, however often
    sent; the refused ones come back with their index and reason."""
    post = _post(request, code)
    if post is None:
        return json_error(401, "unknown_post", _("Unknown lamp post or wrong key."))
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if not declared.isdigit() or int(declared) > MAX_PLAYS_BYTES or len(request.body) > MAX_PLAYS_BYTES:
        return json_error(413, "too_large", _("The report is too large."))
    try:
        plays = json.loads(request.body)["plays"]
        if not isinstance(plays, list):
            raise TypeError
    except (ValueError, KeyError, TypeError, RecursionError):  # RecursionError: [[[[...]]]] nested too deep
        return json_error(400, "malformed", _('Send {"plays": [{"video", "startedAt", "seconds"}, ...]}.'))
    try:
        taken = plays_report(post=post, plays=plays)
    except ValidationError as error:
        return json_error(400, "too_many", error.messages[0])
    return JsonResponse({"taken": taken.taken,
                         "refused": [{"index": index, "reason": reason} for index, reason in taken.refused]})


@require_GET
def park_map_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """``GET /exports/park-map.{png,svg}?park=<Park id>``: the operator's map drawn for a screen.  401 without a
    valid bearer token, 404 for a park the viewer does not operate."""
    try:
        user, _token = bearer_authenticate(request.META.get("HTTP_AUTHORIZATION"), required=True)
    except AuthError as error:
        return unauthorized_response(error)
    pk = node_pk_or_none(request.GET.get("park", ""), "Park")
    park = Park.objects.filter(pk=pk).first() if pk is not None else None
    if park is None or (staff_of(user, park) is None and not user.is_superuser):
        return json_error(404, "not_found", _("Park not found."))
    response = chart_response(fmt, park_map_figure(park_map(park=park)))
    response["Cache-Control"] = "private, no-store"
    return response
