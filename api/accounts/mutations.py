"""Login, refresh, logout."""

from __future__ import annotations

from datetime import datetime

import strawberry

from accounts import services as account_services
from api.accounts.errors import AccountError
from api.accounts.types import UserType
from api.context import viewer
from api.mutations import mutation
from api.restrict import Payload
from core.actor import acting_as


@strawberry.type
class AuthPayload(Payload):
    errors: list[AccountError] = strawberry.field(default_factory=list)
    access_token: str | None = None
    access_expires_at: datetime | None = None
    refresh_token: str | None = None
    refresh_expires_at: datetime | None = None
    user: UserType | None = None
    retry_after_seconds: int | None = None
    device_token: str | None = strawberry.field(
        default=None, description="After a login: keep it on the device and send it with every later login, so that "
                                  "this device still gets in while strangers' failed guesses throttle the account.")

    @classmethod
    def failed(cls, error: Exception) -> AuthPayload:
        payload = super().failed(error)
        payload.retry_after_seconds = getattr(error, "retry_after", None)  # throttled: when to try again
        return payload


@strawberry.input
class LoginInput:
    username: str = strawberry.field(description="Username or mobile phone number.")
    password: str
    device_token: str | None = strawberry.field(default=None,
                                                description="The `deviceToken` an earlier login on this device returned.")


@strawberry.type
class LogoutPayload(Payload):
    errors: list[AccountError] = strawberry.field(default_factory=list)
    revoked_tokens: int = 0


def _auth_payload(pair: account_services.TokenPair) -> AuthPayload:
    with acting_as(pair.user):  # the payload shows the account as the one who just signed in sees it
        return AuthPayload(
            access_token=pair.access_token,
            access_expires_at=pair.access_expires_at,
            refresh_token=pair.refresh_token,
            refresh_expires_at=pair.refresh_expires_at,
            user=pair.user,
            device_token=pair.device_token,
        )


@strawberry.type
class AccountMutation:
    # Login and refresh are audited by their services, with the name that was typed and the outcome.
    @mutation(authenticated=False, audited=False,
              description="Log in with a username or phone number; returns an access and a refresh token.")
    def login(self, info: strawberry.Info, input: LoginInput) -> AuthPayload:
        who = viewer(info)
        return _auth_payload(account_services.user_login(
            identifier=input.username[:150], password=input.password[:256],
            client_ip=who.client_ip, user_agent=who.user_agent, device_token=input.device_token,
        ))

    @mutation(authenticated=False, audited=False,
              description="Exchange a refresh token for a new pair; the old refresh token stops working.")
    def refresh_token(self, info: strawberry.Info, refresh_token: str) -> AuthPayload:
        who = viewer(info)
        return _auth_payload(account_services.token_refresh(
            refresh_token=refresh_token, client_ip=who.client_ip, user_agent=who.user_agent,
        ))

    @mutation(description="Revoke the access token of this request and every token of its login.")
    def logout(self, info: strawberry.Info) -> LogoutPayload:
        who = viewer(info)
        revoked = account_services.user_logout(token=who.token, client_ip=who.client_ip, user_agent=who.user_agent)
        return LogoutPayload(revoked_tokens=revoked)
