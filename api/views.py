"""``/graphql/`` over HTTP: bearer-token authentication and request limits before strawberry runs."""

from __future__ import annotations

import orjson
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, JsonResponse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from strawberry.django.views import GraphQLView

from accounts.services import AuthError, token_authenticate
from api.context import Viewer, client_ip_from_scope_or_meta
from api.schema import schema


def error_response(status: int, code: str, message: str, **extra) -> JsonResponse:
    return JsonResponse({"data": None, "errors": [{"message": message, "extensions": {"code": code, **extra}}]},
                        status=status)


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
            request.onegrid_viewer = self._viewer(request)
            response = super().dispatch(request, *args, **kwargs)
        except RequestRefused as refused:
            return error_response(refused.status, refused.code, refused.message)
        except AuthError as error:
            response = error_response(401, error.code, error.message)
            response["WWW-Authenticate"] = f'Bearer error="invalid_token", error_description="{error.code}"'
            return response
        if response.status_code >= 400 and response.get("Content-Type", "").startswith("text/plain"):
            # strawberry answers transport errors in plain text; the app always gets GraphQL-shaped JSON.
            message = response.content.decode(errors="replace")[:300]
            if "not allowed when using GET" in message:
                return error_response(405, "method_not_allowed", _("Mutations must be sent with POST."))
            return error_response(response.status_code, "bad_request", message)
        return response

    def encode_json(self, data: object) -> bytes:
        # orjson: several times faster than json on large answers (a 10,000-event map layer), and UTF-8
        # instead of \u escapes for Chinese text.
        return orjson.dumps(data, default=_json_default)

    def parse_http_body(self, request):
        data = super().parse_http_body(request)
        items = data if isinstance(data, list) else [data]
        if any(item.query and len(item.query.encode()) > settings.GRAPHQL["MAX_DOCUMENT_BYTES"] for item in items):
            raise RequestRefused(413, "document_too_large", _document_too_large())
        return data

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
        header = request.META.get("HTTP_AUTHORIZATION", "")
        user, token = AnonymousUser(), None
        if header:
            scheme, _sep, raw = header.partition(" ")
            if scheme.lower() != "bearer" or not raw.strip():
                raise AuthError("token_invalid", _("Use the header 'Authorization: Bearer <token>'."))
            user, token = token_authenticate(raw)
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


def _document_too_large() -> str:
    return _("The GraphQL document is too large (limit %(limit)d bytes).") % {
        "limit": settings.GRAPHQL["MAX_DOCUMENT_BYTES"]
    }


graphql_view = csrf_exempt(
    OneGridGraphQLView.as_view(
        schema=schema,
        graphql_ide="graphiql" if settings.GRAPHQL["GRAPHIQL"] else None,
        allow_queries_via_get=True,
        multipart_uploads_enabled=True,
    )
)
