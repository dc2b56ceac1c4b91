"""``/graphql/`` over HTTP: bearer-token authentication and request limits before strawberry runs."""

from __future__ import annotations

import sys

import orjson
from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent, TooManyFilesSent
from django.core.serializers.json import DjangoJSONEncoder
from django.db import OperationalError, connections
from django.http import HttpRequest, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from strawberry.django.views import GraphQLView

from accounts.services import AuthError, bearer_authenticate
from api.context import Viewer, client_ip_from_scope_or_meta
from api.errors import database_unavailable, database_unavailable_response, json_error, unauthorized_response
from api.schema import schema
from core.files.images import image_pixels


def error_response(status: int, code: str, message: str, **extra) -> JsonResponse:
    return json_error(status, code, message, graphql=True, **extra)


class RequestRefused(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class OneGridGraphQLView(GraphQLView):
    """Authenticates ``Authorization: Bearer <token>``; refuses oversized documents.

    Session cookies are ignored on this endpoint (only the bearer token counts),
    which is why it needs no CSRF token.
    """

    def dispatch(self, request: HttpRequest, *args, **kwargs):
        try:
            self._check_size(request)
            # Connect before anything else: a database that is down is one coded 503, not an error per field.
            connections["default"].ensure_connection()
            request.onegrid_viewer = self._viewer(request)
            response = super().dispatch(request, *args, **kwargs)
        except RequestRefused as refused:
            return error_response(refused.status, refused.code, refused.message)
        except AuthError as error:
            return unauthorized_response(error, graphql=True)
        except TooManyFilesSent:
            return error_response(400, "too_many_files", _("Too many files in one request (limit %(limit)d).") % {
                "limit": settings.DATA_UPLOAD_MAX_NUMBER_FILES})
        except TooManyFieldsSent:
            return error_response(400, "too_many_fields", _("Too many form fields in one request."))
        except RequestDataTooBig:
            return error_response(413, "document_too_large", _document_too_large())
        except (MultiPartParserError, SuspiciousOperation):
            return error_response(400, "bad_request", _("The multipart request is malformed."))
        except OperationalError as error:
            if database_unavailable(error):
                return database_unavailable_response()
            raise
        if response.status_code >= 400 and response.get("Content-Type", "").startswith("text/plain"):
            # strawberry answers transport errors in plain text; the app always gets GraphQL-shaped JSON.
            message = response.content.decode(errors="replace")[:300]
            if "not allowed when using GET" in message:
                return error_response(405, "method_not_allowed", _("Mutations must be sent with POST."))
            return error_response(response.status_code, "bad_request", _transport_message(message))
        return response

    def encode_json(self, data: object) -> bytes:
        # orjson: faster than json on large answers (the 10,000-event map layer of `bench/api.py --only
        # layer`), and UTF-8 instead of \u escapes for Chinese text.
        return orjson.dumps(data, default=_json_default)

    def decode_json(self, data: str | bytes) -> object:
        # orjson refuses nesting deeper than 1,024 levels (json.loads recursed until a RecursionError, a 500) and
        # raises a JSONDecodeError, which strawberry answers as a 400.
        return orjson.loads(data)

    def parse_http_body(self, request):
        if request.method == "POST" and "json" in (request.content_type or ""):
            try:
                body = request.body
            except UnicodeDecodeError:
                raise RequestRefused(400, "bad_request", _("The request body is not UTF-8.")) from None
            # A GraphQL request is a JSON object (or a list of them); strawberry assumed one and failed on
            # `null` or `"x"` with an AttributeError.
            if body.lstrip(" \t\r\n")[:1] not in ("{", "["):
                raise RequestRefused(400, "bad_request", _("The request body must be a JSON object."))
        if request.method == "POST" and "multipart" in (request.content_type or ""):
            # The multipart spec's `map` is an object of lists; strawberry assumed so and failed on `[1]`.
            try:
                mapping = orjson.loads(request.post_data.get("map", "{}"))
            except orjson.JSONDecodeError:
                mapping = None
            if not isinstance(mapping, dict) or not all(isinstance(paths, list) for paths in mapping.values()):
                raise RequestRefused(400, "bad_request", _("The multipart request is malformed."))
        data = super().parse_http_body(request)
        if request.method == "POST" and "multipart" in (request.content_type or ""):
            self._check_pixels(request.files)
        items = data if isinstance(data, list) else [data]
        if any(item.query and len(item.query.encode()) > settings.GRAPHQL["MAX_DOCUMENT_BYTES"] for item in items):
            raise RequestRefused(413, "document_too_large", _document_too_large())
        return data

    @staticmethod
    def _check_pixels(files) -> None:
        """All the images of one request together may declare at most ``UPLOAD_MAX_PIXELS_PER_REQUEST`` pixels.

        Decoding is what costs, by the pixels, not the bytes (a 40-megapixel PNG can weigh little; the settings'
        ``UPLOAD_MAX_PIXELS_PER_REQUEST`` gives the command that times one), so the headers are weighed before any
        resolver decodes a pixel.
        """
        limit = settings.UPLOAD_MAX_PIXELS_PER_REQUEST
        total = 0
        for name in files:
            for upload in files.getlist(name):
                pixels = image_pixels(upload) or 0
                # A photo over the per-photo limit is refused from its header too, undecoded (with the reason on
                # its field), so it costs nothing to let it through here.
                total += pixels if pixels <= settings.PHOTO_MAX_PIXELS else 0
                if total > limit:
                    raise RequestRefused(413, "too_many_pixels", _(
                        "The photos of one request may have at most %(limit)s megapixels in all; send smaller "
                        "photos or fewer at a time.") % {"limit": f"{limit / 1e6:g}"})

    def _check_size(self, request: HttpRequest) -> None:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        is_multipart = (request.content_type or "").startswith("multipart/")
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise RequestRefused(400, "bad_request", _("Content-Length is not a number.")) from None
        if not is_multipart and length > limit:
            raise RequestRefused(413, "document_too_large", _document_too_large())
        if is_multipart and not request.META.get("CONTENT_LENGTH"):
            raise RequestRefused(411, "length_required", _("Send uploads with a Content-Length."))
        if is_multipart and length > settings.UPLOAD_MAX_REQUEST_BYTES:
            # Refused before a byte of the body is read: a 100 MB "photo" never reaches the disk.
            raise RequestRefused(413, "upload_too_large", _("The upload is too large (limit %(limit)d MB).") % {
                "limit": settings.UPLOAD_MAX_REQUEST_BYTES // (1024 * 1024)})
        if len(request.META.get("QUERY_STRING", "")) > settings.GRAPHQL["MAX_DOCUMENT_BYTES"] * 3:
            raise RequestRefused(413, "document_too_large", _document_too_large())

    @staticmethod
    def _viewer(request: HttpRequest) -> Viewer:
        user, token = bearer_authenticate(request.META.get("HTTP_AUTHORIZATION"), required=False)
        return Viewer(
            user=user,
            token=token,
            client_ip=client_ip_from_scope_or_meta(
                forwarded_for=request.META.get("HTTP_X_FORWARDED_FOR"), remote_addr=request.META.get("REMOTE_ADDR")
            ),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:200],
            language=get_language(),
        )


_json_default = DjangoJSONEncoder().default


def _transport_message(message: str) -> str:
    """strawberry's plain-text reason for refusing a request, in the request's language."""
    known = {
        "Unable to parse request body as JSON": _("The request body is not valid JSON."),
        "No GraphQL query found in the request": _("The request has no GraphQL query."),
        "Unsupported content type": _("Send GraphQL as application/json, or as multipart/form-data with files."),
        "File(s) missing in form data": _("A file named in the multipart map is missing."),
    }
    return known.get(message.strip(), _("This is not a valid GraphQL request: %(reason)s") % {"reason": message})


def _document_too_large() -> str:
    return _("The GraphQL document is too large (limit %(limit)d bytes).") % {
        "limit": settings.GRAPHQL["MAX_DOCUMENT_BYTES"]
    }


def server_error(request: HttpRequest) -> JsonResponse:
    """Django's ``handler500`` (any view): JSON like every other error; a database outage is a 503.

    Called by Django inside its ``except`` block, so the exception is ``sys.exc_info()``'s.
    """
    error = sys.exc_info()[1]
    if error is not None and database_unavailable(error):
        return database_unavailable_response()
    return json_error(500, "internal_error", _("Internal server error."))


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """Django's ``handler400`` (a malformed request to any view, e.g. too many form fields): JSON, not HTML."""
    return json_error(400, "bad_request", _("The request is malformed."))


graphql_view = csrf_exempt(
    OneGridGraphQLView.as_view(
        schema=schema,
        graphql_ide="graphiql" if settings.GRAPHQL["GRAPHIQL"] else None,
        allow_queries_via_get=True,
        multipart_uploads_enabled=True,
    )
)
