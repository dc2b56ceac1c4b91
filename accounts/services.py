"""Login, tokens and logout for the mobile app and scripts."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import AnonymousUser
from django.core import signing
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import AuthToken, TokenKind, User
from core.audiences import access_scope
from core.audit import audit_record
from core.feed import change_record
from core.models import AuditEntry, AuditResult

ACCESS_PREFIX = "oga_"
REFRESH_PREFIX = "ogr_"
#: Failed logins from one address before it is throttled, whatever the usernames.
IP_FAILURE_FACTOR = 4
_DEVICE_SALT = "onegrid.login-device"


class AuthError(Exception):
    """A login or token problem the client can act on; ``code`` is stable, ``message`` translated."""

    def __init__(self, code: str, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    access_expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime
    user: User
    device_token: str | None = None  # on login: the proof that this device has logged in before


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _new_token(*, user, kind: str, family, ttl: int, client_ip: str | None, user_agent: str,
               raw: str | None = None) -> tuple[str, AuthToken]:
    prefix = ACCESS_PREFIX if kind == TokenKind.ACCESS else REFRESH_PREFIX
    raw = raw or prefix + secrets.token_urlsafe(32)
    token = AuthToken.objects.create(
        user=user,
        kind=kind,
        digest=_digest(raw),
        family=family,
        expires_at=timezone.now() + timedelta(seconds=ttl),
        client_ip=client_ip or None,
        user_agent=(user_agent or "")[:200],
    )
    return raw, token


def _successor_raws(refresh_raw: str) -> tuple[str, str]:
    """The access and refresh token that rotating ``refresh_raw`` issues.

    Derived from it with the secret key (an HMAC), so the same pair can be handed out again within the grace
    window while only digests are stored; unguessable without both the old token and the key.
    """
    def derive(prefix: str) -> str:
        mac = hmac.new(settings.SECRET_KEY.encode(), f"onegrid.refresh:{prefix}{refresh_raw}".encode(), hashlib.sha256)
        return prefix + base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()

    return derive(ACCESS_PREFIX), derive(REFRESH_PREFIX)


def _issue_pair(*, user, family, client_ip, user_agent, rotated: str | None = None) -> TokenPair:
    """A new access and refresh token in ``family``; the successors of the refresh token ``rotated`` if given."""
    access_raw, refresh_raw = _successor_raws(rotated) if rotated else (None, None)
    access_raw, access = _new_token(
        user=user, kind=TokenKind.ACCESS, family=family, ttl=settings.ACCESS_TOKEN_TTL_SECONDS,
        client_ip=client_ip, user_agent=user_agent, raw=access_raw,
    )
    refresh_raw, refresh = _new_token(
        user=user, kind=TokenKind.REFRESH, family=family, ttl=settings.REFRESH_TOKEN_TTL_SECONDS,
        client_ip=client_ip, user_agent=user_agent, raw=refresh_raw,
    )
    return TokenPair(access_raw, access.expires_at, refresh_raw, refresh.expires_at, user)


def _find_user(identifier: str) -> User | None:
    return User.objects.filter(Q(username=identifier) | Q(phone=identifier)).first()


def device_token_issue(*, user: User) -> str:
    """A signed token saying "this device has logged in as ``user``" (no row: a random device id and a date)."""
    return signing.dumps({"u": user.pk, "d": secrets.token_urlsafe(12)}, salt=_DEVICE_SALT, compress=False)


def _device_of(token: str | None, account: User | None) -> str | None:
    """The device id that ``token`` proves for ``account``; None for no token, a forged or expired one, or one
    issued to another account."""
    if not token or account is None:
        return None
    try:
        data = signing.loads(token[:300], salt=_DEVICE_SALT, max_age=settings.LOGIN_DEVICE_TOKEN_MAX_AGE_SECONDS)
    except (signing.BadSignature, ValueError):
        return None
    if not isinstance(data, dict) or data.get("u") != account.pk or not isinstance(data.get("d"), str):
        return None
    return data["d"]


def login_throttle_check(*, account_label: str, client_ip: str | None, device: str | None = None) -> None:
    """Refuse a login attempt after too many recent failures.

    Without a device token: failures against the account (``account_label``: its username, whichever name or
    phone number was typed) by clients without a device token, and failures from the address, whatever the
    accounts (``IP_FAILURE_FACTOR`` times as many).  With a device token proven for the account: only that
    device's failures, so strangers guessing cannot lock out the phone that logged in before.

    Counted from the audit log, so every ASGI process agrees without a shared cache.
    Raises ``AuthError(code="throttled")`` with the seconds to wait.
    """
    window = timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    failures = AuditEntry.objects.filter(action="login", result=AuditResult.FAILED,
                                         at__gte=timezone.now() - window)
    limit = settings.LOGIN_FAILURE_LIMIT
    if device is not None:
        counts = [(failures.filter(actor_label=account_label, details__device=device), limit)]
    else:
        counts = [(failures.filter(actor_label=account_label).exclude(details__has_key="device"), limit)]
        if client_ip:
            counts.append((failures.filter(client_ip=client_ip), limit * IP_FAILURE_FACTOR))
    for rows, allowed in counts:
        recent = list(rows.order_by("-at").values_list("at", flat=True)[:allowed])
        if len(recent) >= allowed:
            retry_after = max(1, int((recent[-1] + window - timezone.now()).total_seconds()))
            raise AuthError(
                "throttled",
                ngettext(
                    "Too many failed logins. Try again in %(seconds)d second.",
                    "Too many failed logins. Try again in %(seconds)d seconds.",
                    retry_after,
                ) % {"seconds": retry_after},
                retry_after=retry_after,
            )


def user_login(*, identifier: str, password: str, client_ip: str | None = None, user_agent: str = "",
               device_token: str | None = None) -> TokenPair:
    """Exchange a username or phone number and a password for an access and a refresh token.

    Who may call: anyone (the login mutation).  Every attempt is audited under the account's username (the
    name typed for an unknown account), so a username and its phone number are throttled as one account.
    ``device_token`` is what an earlier login on this device returned (``TokenPair.device_token``); it lets
    the right password in while the account is throttled for everyone else.
    Raises ``AuthError`` with code ``throttled`` or ``invalid_credentials``
    (the same for an unknown account and a wrong password).
    """
    identifier = (identifier or "").strip()
    candidate = _find_user(identifier)
    label = candidate.username if candidate else identifier
    device = _device_of(device_token, candidate)
    details = {"device": device} if device else None
    try:
        login_throttle_check(account_label=label, client_ip=client_ip, device=device)
    except AuthError as error:
        audit_record(action="login", result=AuditResult.DENIED, actor_label=label, error_code=error.code,
                     client_ip=client_ip, user_agent=user_agent, details=details)
        raise
    user = authenticate(username=candidate.username, password=password) if candidate else None
    if user is None or not user.is_active:
        audit_record(action="login", result=AuditResult.FAILED, actor_label=label,
                     error_code="invalid_credentials", client_ip=client_ip, user_agent=user_agent, details=details)
        raise AuthError("invalid_credentials", _("Wrong username, phone number or password."))
    with transaction.atomic():
        pair = _issue_pair(user=user, family=AuthToken._meta.get_field("family").default(),
                           client_ip=client_ip, user_agent=user_agent)
        User.objects.filter(pk=user.pk).update(last_login=timezone.now())
        audit_record(action="login", actor=user, client_ip=client_ip, user_agent=user_agent, details=details)
    return dataclasses.replace(pair, device_token=device_token if device else device_token_issue(user=user))


def token_authenticate(raw: str, *, kind: str = TokenKind.ACCESS) -> tuple[User, AuthToken]:
    """Resolve a bearer token to its user.

    Raises ``AuthError`` with code ``token_invalid`` (unknown or malformed),
    ``token_expired`` or ``token_revoked``; an inactive user is ``token_revoked``.
    """
    raw = (raw or "").strip()
    expected = ACCESS_PREFIX if kind == TokenKind.ACCESS else REFRESH_PREFIX
    if not raw.startswith(expected) or len(raw) > 100:
        raise AuthError("token_invalid", _("The token is not valid."))
    token = AuthToken.objects.select_related("user").filter(digest=_digest(raw), kind=kind).first()
    if token is None:
        raise AuthError("token_invalid", _("The token is not valid."))
    if token.revoked_at is not None or not token.user.is_active:
        raise AuthError("token_revoked", _("The token has been revoked. Please log in again."))
    if token.expires_at <= timezone.now():
        raise AuthError("token_expired", _("The token has expired. Refresh it or log in again."))
    return token.user, token


def bearer_authenticate(credentials: object, *, required: bool,
                        bare: bool = False) -> tuple[User | AnonymousUser, AuthToken | None]:
    """The user and token of ``credentials``, an ``Authorization`` value ``Bearer <token>``: the one reading of
    a bearer token, for ``/graphql/``, the exports and the websocket's ``connection_init``.

    No credentials (None, not text, or blank) are an anonymous user, or ``AuthError("unauthenticated")`` when
    ``required``.  With ``bare``, a value without the ``Bearer`` scheme is the token itself (the websocket's
    ``{"token": ...}``); otherwise another scheme, or the scheme without a token, is ``token_invalid``.  Raises
    ``AuthError`` as ``token_authenticate`` does for the token itself.
    """
    text = credentials.strip() if isinstance(credentials, str) else ""
    if not text:
        if required:
            raise AuthError("unauthenticated", _("Log in first: this needs an access token."))
        return AnonymousUser(), None
    scheme, _sep, raw = text.partition(" ")
    if scheme.lower() == "bearer":
        text = raw
    elif not bare:
        raise AuthError("token_invalid", _("Use the header 'Authorization: Bearer <token>'."))
    if not text.strip():
        raise AuthError("token_invalid", _("Use the header 'Authorization: Bearer <token>'."))
    return token_authenticate(text)


def token_still_valid(*, token_id: int) -> bool:
    """Whether a token authenticated earlier is still usable (re-checked on live connections)."""
    return AuthToken.objects.filter(
        pk=token_id, revoked_at__isnull=True, expires_at__gt=timezone.now(), user__is_active=True
    ).exists()


def token_refresh(*, refresh_token: str, client_ip: str | None = None, user_agent: str = "") -> TokenPair:
    """Rotate a refresh token: revoke it and issue a new pair in the same family.

    A refresh token presented after it was rotated is a replay: the whole family is revoked (the thief and the
    owner both have to log in again) -- unless the client that rotated it (same address and user agent) presents
    it again within ``REFRESH_TOKEN_REUSE_GRACE_SECONDS`` while the new pair is unused: then it gets that same
    pair (two parallel refreshes, or a retry after the answer was lost).
    Raises ``AuthError`` (``token_invalid``, ``token_expired``, ``token_revoked``, ``token_reused``).
    """
    raw = (refresh_token or "").strip()
    try:
        user, token = token_authenticate(raw, kind=TokenKind.REFRESH)
    except AuthError as error:
        if error.code == "token_revoked":
            reused = AuthToken.objects.select_related("user").filter(digest=_digest(raw), kind=TokenKind.REFRESH).first()
            if reused is not None:
                again = _rotation_replayed(reused, raw, client_ip=client_ip, user_agent=user_agent)
                if again is not None:
                    return again
                # Committed on its own: the revocation must survive the error we raise.
                with transaction.atomic():
                    token_family_revoke(family=reused.family)
                    audit_record(action="token.refresh", result=AuditResult.DENIED, actor=reused.user,
                                 error_code="token_reused", client_ip=client_ip, user_agent=user_agent)
                raise AuthError("token_reused", _("This refresh token was already used. Please log in again.")) from None
        raise
    with transaction.atomic():
        # A conditional update: of two concurrent refreshes with this token only one rotates it.
        updated = AuthToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        if updated:
            pair = _issue_pair(user=user, family=token.family, client_ip=client_ip, user_agent=user_agent, rotated=raw)
            audit_record(action="token.refresh", actor=user, client_ip=client_ip, user_agent=user_agent)
            return pair
    # The other one has committed by now (the update waited for its row lock): hand out what it issued.
    token.refresh_from_db(fields=["revoked_at"])
    again = _rotation_replayed(token, raw, client_ip=client_ip, user_agent=user_agent)
    if again is None:
        raise AuthError("token_reused", _("This refresh token was already used. Please log in again."))
    return again


def _rotation_replayed(token: AuthToken, raw: str, *, client_ip: str | None, user_agent: str) -> TokenPair | None:
    """The pair that rotating ``token`` issued, if its client asks again within the grace window and that pair
    is still unused and live; else None (a replay)."""
    grace = timedelta(seconds=settings.REFRESH_TOKEN_REUSE_GRACE_SECONDS)
    if token.revoked_at is None or token.revoked_at < timezone.now() - grace:
        return None
    access_raw, refresh_raw = _successor_raws(raw)
    issued = {found.kind: found for found in AuthToken.objects.select_related("user").filter(
        digest__in=[_digest(access_raw), _digest(refresh_raw)], family=token.family, revoked_at__isnull=True)}
    access, refresh = issued.get(TokenKind.ACCESS), issued.get(TokenKind.REFRESH)
    if access is None or refresh is None:  # never rotated (revoked by logout), or the new pair is used or revoked
        return None
    if (refresh.client_ip or None) != (client_ip or None) or refresh.user_agent != (user_agent or "")[:200]:
        return None  # another client: that is what a stolen token looks like
    audit_record(action="token.refresh", actor=refresh.user, client_ip=client_ip, user_agent=user_agent,
                 details={"repeated_within_seconds": settings.REFRESH_TOKEN_REUSE_GRACE_SECONDS})
    return TokenPair(access_raw, access.expires_at, refresh_raw, refresh.expires_at, refresh.user)


def token_family_revoke(*, family) -> int:
    """Revoke every live token of one login, inside the caller's transaction.  A change addressed to its user's
    control scope (``access.revoked``) makes their live subscriptions read their token again: they end at once."""
    live = AuthToken.objects.filter(family=family, revoked_at__isnull=True)
    first = live.only("pk", "user_id").first()
    revoked = live.update(revoked_at=timezone.now())
    if revoked:
        change_record(kind="access.revoked", obj=first, to=[access_scope(first.user_id)])
    return revoked


def user_logout(*, token: AuthToken, client_ip: str | None = None, user_agent: str = "") -> int:
    """Revoke every token of the login that ``token`` belongs to.  Returns how many were live."""
    with transaction.atomic():
        revoked = token_family_revoke(family=token.family)
        audit_record(action="logout", actor=token.user, client_ip=client_ip, user_agent=user_agent)
    return revoked


def token_issue(*, user: User, ttl_seconds: int | None = None) -> tuple[str, AuthToken]:
    """Issue a single access token for an operator or script (``manage.py issue_token``)."""
    with transaction.atomic():
        raw, token = _new_token(
            user=user, kind=TokenKind.ACCESS, family=AuthToken._meta.get_field("family").default(),
            ttl=ttl_seconds or settings.ACCESS_TOKEN_TTL_SECONDS, client_ip=None, user_agent="manage.py issue_token",
        )
        audit_record(action="token.issue", actor=user, actor_label=user.username, details={"ttl": ttl_seconds})
    return raw, token
