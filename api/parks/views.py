"""What gates and visitors reach without signing in.

- ``/parks/<park>/jwks.json``: the park's public keys, which a gate is enrolled with.
- ``/parks/<park>/gates/<gate>/bundle?since=N``: the gate's signed bundle (its rule, the revocations after N).
- ``POST /parks/passages``: an offline gate's signed log (``passkit.sync``); stored once, whatever is sent twice.
- ``/parks/visit/<token>``: a visitor's page, their code as a QR code that changes every step, and the code alone
  as a picture (``code.png``, ``code.svg``) for a message.

Every answer is a verdict or a typed error; a forged upload is refused with its reason and logged.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from api.errors import json_error
from core.qr import qr_png, qr_svg
from parks.keys import park_jwks
from parks.models import Gate, Park
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
