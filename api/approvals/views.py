"""What anyone may fetch without signing in: the issuer keys, the status lists, the verification page, its JSON,
and a certificate's QR code and printout.

``/V/<code>`` is what a certificate's QR code carries (a camera app opens it); ``/verify/?code=`` takes a pasted
code or URL; ``/verify.json?code=`` answers the same verdict as JSON; ``/.well-known/jwks.json`` and
``/status/<n>`` are what offline verifiers (``certkit``) sync.  None of them ever answers a 500: whatever the
code, the answer is a verdict.
"""

from __future__ import annotations

import logging
from datetime import datetime, time

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.encoding import escape_uri_path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from api.errors import json_error
from approvals.codes import OnlineVerdict, certificate_url, certificate_verify
from approvals.keys import jwks
from approvals.render import certificate_picture, qr_png, qr_svg
from approvals.selectors import applications_visible_to
from approvals.statistics import PERIODS, application_statistics
from approvals.statuslist import status_list_token
from certkit import MAX_CODE_CHARS, Status, code_from_text

log = logging.getLogger(__name__)

#: Longest text a verifier takes (a code, or a URL carrying one).
MAX_TEXT = 2 * MAX_CODE_CHARS


def _public(response: HttpResponse, max_age: int) -> HttpResponse:
    response["Cache-Control"] = f"public, max-age={max_age}"
    response["Access-Control-Allow-Origin"] = "*"  # verifier web apps of any origin may sync them
    return response


@require_GET
def jwks_view(request: HttpRequest) -> HttpResponse:
    """The issuer's public keys (RFC 7517): every key that signs or signed, except the withdrawn."""
    return _public(JsonResponse(jwks()), 300)


@require_GET
def status_list_view(request: HttpRequest, number: int) -> HttpResponse:
    """Status list ``number`` as a signed CWT (``application/statuslist+cwt``), cacheable for its ttl."""
    found = status_list_token(number)
    if found is None:
        return json_error(404, "not_found", _("No such status list."))
    token, ttl = found
    return _public(HttpResponse(token, content_type="application/statuslist+cwt"), ttl)


#: Each verdict's headline, in the reader's language, and its colour on the page.
HEADLINES = {
    Status.VALID: (lambda: _("Valid"), "valid"),
    Status.SUSPENDED: (lambda: _("Suspended"), "warn"),
    Status.REVOKED: (lambda: _("Revoked"), "bad"),
    Status.EXPIRED: (lambda: _("Expired"), "warn"),
    Status.SUPERSEDED: (lambda: _("Superseded by a renewal"), "warn"),
    Status.INVALID: (lambda: _("Invalid"), "bad"),
    Status.UNKNOWN: (lambda: _("Cannot tell"), "warn"),
}


def reason_text(reason: str) -> str:
    """A verdict's reason in the reader's language."""
    texts = {
        "ok": _("Signed by the issuer, in force, and neither suspended nor revoked."),
        "suspended": _("The issuing department has suspended this certificate."),
        "not_in_force": _("This certificate is issued but not in force yet: its procedure is not finished."),
        "revoked": _("The issuing department has revoked this certificate."),
        "superseded": _("This certificate was renewed: only the new certificate is in force."),
        "expired": _("The validity period of this certificate has ended."),
        "not_yet_valid": _("This certificate is not valid yet."),
        "bad_signature": _("The signature does not match: the code was altered or forged."),
        "unknown_key": _("The code was not signed by a key of this issuer."),
        "withdrawn_key": _("The key that signed this code has been withdrawn: the code is no longer trusted."),
        "unknown_certificate": _("The issuer has no such certificate."),
        "unsupported_algorithm": _("The code is signed with an algorithm that is not accepted."),
        "wrong_prefix": _("This is not a certificate code of this issuer."),
        "too_large": _("This is far too long to be a certificate code."),
        "status_unavailable": _("The status of this certificate cannot be checked now."),
    }
    return texts.get(reason, _("This is not a readable certificate code."))


def verdict_json(found: OnlineVerdict) -> dict:
    """The verdict as plain JSON: the certificate's facts only when it is valid."""
    return {"status": found.status.value, "reason": found.reason, "message": reason_text(found.reason),
            "certificate": certificate_facts(found) if found.valid else None}


def certificate_facts(found: OnlineVerdict) -> dict:
    certificate = found.certificate
    english = translation.get_language() == "en"
    labels = {spec["name"]: spec["label_en" if english else "label"] for spec in certificate.kind.fields}
    return {
        "number": certificate.number,
        "kind": certificate.kind.name_en if english else certificate.kind.name,
        "holder": certificate.holder.name,
        "holderId": certificate.holder.id_masked,
        "issuer": (certificate.department.name_en or certificate.department.name) if english
        else certificate.department.name,
        "validFrom": certificate.valid_from.date().isoformat(),
        "validUntil": certificate.valid_until.date().isoformat() if certificate.valid_until else None,
        "fields": [{"label": labels.get(name, name), "value": str(value)} for name, value in certificate.fields.items()],
    }


def _text_of(request: HttpRequest, code: str | None) -> str:
    text = code if code is not None else request.GET.get("code", "")
    return text[:MAX_TEXT + 1]


def verdict_of(text: str) -> OnlineVerdict:
    """The online verdict on ``text``, whatever it is (never raises)."""
    if len(text) > MAX_TEXT:
        return OnlineVerdict(Status.INVALID, "too_large")
    try:
        return certificate_verify(text)
    except Exception:  # the page must answer a verdict whatever happened; the log keeps the trace
        log.exception("verifying a certificate code failed")
        return OnlineVerdict(Status.UNKNOWN, "status_unavailable")


def _language(request: HttpRequest) -> str:
    asked = request.GET.get("lang")
    return asked if asked in ("en", "zh-hans") else translation.get_language()


@require_GET
def verify_page(request: HttpRequest, code: str | None = None) -> HttpResponse:
    """The public page a scanned code opens: the verdict, big, and the facts when valid; a box to paste a code."""
    with translation.override(_language(request)):
        text = _text_of(request, code)
        found = verdict_of(text) if text.strip() else None
        headline, tone = HEADLINES[found.status] if found else (None, "")
        context = {
            "found": found, "text": text if found else "", "tone": tone,
            "headline": headline() if headline else "", "reason": reason_text(found.reason) if found else "",
            "facts": certificate_facts(found) if found and found.valid else None,
            "lang": translation.get_language(), "here": escape_uri_path(request.path),  # the code's % and spaces kept
            "code_query": request.GET.get("code", ""),
        }
        response = render(request, "approvals/verify.html", context)
    response["Cache-Control"] = "no-store"  # a revocation shows on the next load
    response["Content-Language"] = context["lang"]
    return response


@require_http_methods(["GET", "POST"])
def verify_json(request: HttpRequest) -> HttpResponse:
    """``{"status", "reason", "message", "certificate"}`` for ``?code=`` (or a POSTed body of the code)."""
    with translation.override(_language(request)):
        if request.method == "POST":
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            try:  # a body longer than any code is not read at all: its verdict is too_large
                text = "x" * (MAX_TEXT + 1) if length > 4 * MAX_TEXT else request.read(4 * MAX_TEXT).decode("utf-8")
            except UnicodeDecodeError:
                text = ""
        else:
            text = _text_of(request, None)
        response = JsonResponse(verdict_json(verdict_of(text)), json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "no-store"
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_GET
def qr_view(request: HttpRequest, fmt: str) -> HttpResponse:
    """The QR code of ``?code=`` (its URL, ``/V/...``), as PNG or SVG; 400 for text that is no code."""
    text = code_from_text(_text_of(request, None), prefix=settings.CERTIFICATE_CODE_PREFIX)
    if not text.startswith(settings.CERTIFICATE_CODE_PREFIX) or len(text) > MAX_CODE_CHARS:
        return json_error(400, "invalid_code", _("This is not a certificate code of this issuer."))
    url = certificate_url(text)
    if fmt == "svg":
        return _public(HttpResponse(qr_svg(url), content_type="image/svg+xml"), 86400)
    return _public(HttpResponse(qr_png(url), content_type="image/png"), 86400)


@require_GET
def printout_view(request: HttpRequest, fmt: str) -> HttpResponse:
    """The printable certificate of a valid code (PNG or PDF), in the reader's language, with its QR code."""
    with translation.override(_language(request)):
        found = verdict_of(_text_of(request, None))
        if not found.valid:
            return json_error(409, f"certificate_{found.status.value.lower()}", reason_text(found.reason))
        data = certificate_picture(found.certificate, english=translation.get_language() == "en", fmt=fmt)
    response = HttpResponse(data, content_type="application/pdf" if fmt == "pdf" else "image/png")
    response["Cache-Control"] = "no-store"
    response["Content-Disposition"] = f'inline; filename="{found.certificate.number}.{fmt}"'
    return response


# --- application statistics as files -------------------------------------------------------------------------

def application_statistics_params(params) -> tuple[datetime | None, datetime | None, str | None]:
    """``since``/``until`` (ISO dates or times, local) and ``period`` (month, year) of a statistics request;
    ``ValidationError`` (``invalid_filter``) for what cannot be read."""
    from django.core.exceptions import ValidationError
    from django.utils.dateparse import parse_date, parse_datetime

    def moment(name: str) -> datetime | None:
        text = (params.get(name) or "").strip()[:40]
        if not text:
            return None
        found = parse_datetime(text) or (datetime.combine(day, time()) if (day := parse_date(text)) else None)
        if found is None:
            raise ValidationError(_("%(name)s is not a date.") % {"name": name}, code="invalid_filter")
        return timezone.make_aware(found) if timezone.is_naive(found) else found

    period = (params.get("period") or "").strip().lower() or None
    if period not in (None, *PERIODS):
        raise ValidationError(_("The period is month or year."), code="invalid_filter")
    return moment("since"), moment("until"), period


def application_statistics_table(rows, totals, period: str | None) -> tuple[list[tuple[str, str]], list[list]]:
    columns = [(_("Kind code"), "text"), (_("Kind"), "text")]
    if period:
        columns.append((_("Period"), "text"))
    columns += [(_("Submitted"), "count"), (_("Approved"), "count"), (_("Rejected"), "count"),
                (_("Withdrawn"), "count"), (_("Open"), "count"), (_("Returned"), "count"),
                (_("Return rate"), "rate"), (_("Median processing (hours)"), "hours"),
                (_("90th percentile processing (hours)"), "hours"), (_("Materials"), "count"),
                (_("Proven automatically"), "count"), (_("No-proof rate"), "rate")]
    table = []
    for row in [*rows, totals]:
        cells = [row.kind or _("Total"), row.kind_name]
        if period:
            cells.append(row.period.isoformat() if row.period else "")
        table.append(cells + [row.submitted, row.approved, row.rejected, row.withdrawn, row.open, row.returned,
                              row.return_rate, row.median_hours, row.p90_hours, row.materials, row.automatic,
                              row.no_proof_rate])
    return columns, table


@require_GET
def application_statistics_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """The viewer's application statistics as CSV or XLSX (``?since=&until=&period=``), with the bearer token of
    ``/graphql/``: 401 without one, 400 ``invalid_filter``."""
    from django.core.exceptions import ValidationError

    from accounts.services import AuthError, bearer_authenticate
    from api.base.tables import table_csv, table_xlsx
    from api.errors import unauthorized_response

    try:
        user, _token = bearer_authenticate(request.META.get("HTTP_AUTHORIZATION"), required=True)
    except AuthError as error:
        return unauthorized_response(error)
    try:
        since, until, period = application_statistics_params(request.GET)
    except ValidationError as error:
        return json_error(400, error.code, " ".join(error.messages))
    rows, totals = application_statistics(applications_visible_to(user), since=since, until=until, period=period)
    columns, table = application_statistics_table(rows, totals, period)
    filename = f"application-statistics-{timezone.localdate().isoformat()}.{fmt}"
    response = (table_csv(columns, table, filename) if fmt == "csv"
                else table_xlsx(_("Application statistics"), columns, table, filename))
    response["Cache-Control"] = "private, no-store"
    return response
