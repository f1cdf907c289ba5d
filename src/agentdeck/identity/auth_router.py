"""Authentication routes: log in, refresh, log out, who am I, change my password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, Response
from starlette.responses import Response as PlainResponse

from agentdeck.errors import DomainError, QuotaExceeded
from agentdeck.identity import auth_service
from agentdeck.identity.auth_service import IssuedTokens, TokenSettings
from agentdeck.identity.models import ApiKey, Tenant, User
from agentdeck.identity.schemas import (
    MAX_PASSWORD_LENGTH,
    ApiKeyRef,
    MePublic,
    PasswordChange,
    TenantRef,
    TokenPublic,
    UserRef,
)
from agentdeck.secret_key import secret_key
from agentdeck.server.deps import SessionDep, StateDep, Viewer, client_ip, reached_over_https
from agentdeck.server.errors import ProblemError
from agentdeck.settings import Environment, Settings

REFRESH_COOKIE = "agentdeck_refresh"
REFRESH_COOKIE_PATH = "/api/v1/auth"

router = APIRouter(prefix="/auth", tags=["auth"])


def _tokens(settings: Settings) -> TokenSettings:
    return TokenSettings.from_settings(settings.auth, secret_key(settings))


def user_ref(user: User) -> UserRef:
    return UserRef(
        id=user.id, username=user.username, email=user.email, display_name=user.display_name
    )


def tenant_ref(tenant: Tenant) -> TenantRef:
    return TenantRef(id=tenant.id, slug=tenant.slug, name=tenant.name)


def _cookie_secure(request: Request, settings: Settings) -> bool:
    """The refresh cookie travels over HTTPS only: always in production or when configured,
    and whenever this request came over HTTPS (a browser would then never send it in clear)."""
    return (
        settings.auth.cookie_secure
        or settings.environment is Environment.production
        or reached_over_https(request, settings.server.trusted_proxies)
    )


def _answer(
    issued: IssuedTokens, request: Request, response: Response, settings: Settings
) -> TokenPublic:
    response.set_cookie(
        REFRESH_COOKIE,
        issued.refresh_token,
        max_age=issued.refresh_expires_in,
        path=REFRESH_COOKIE_PATH,
        secure=_cookie_secure(request, settings),
        httponly=True,
        samesite="strict",
    )
    response.headers["Cache-Control"] = "no-store"
    return TokenPublic(
        access_token=issued.access_token,
        expires_in=issued.expires_in,
        user=user_ref(issued.user),
        tenant=tenant_ref(issued.tenant),
        role=issued.role,
    )


def _clear_cookie(request: Request, response: Response, settings: Settings) -> None:
    response.delete_cookie(
        REFRESH_COOKIE,
        path=REFRESH_COOKIE_PATH,
        secure=_cookie_secure(request, settings),
        httponly=True,
        samesite="strict",
    )


def _clearing_headers(request: Request, settings: Settings) -> dict[str, str]:
    scratch = PlainResponse()
    _clear_cookie(request, scratch, settings)
    return {"set-cookie": scratch.headers["set-cookie"]}


@router.post("/token", response_model=TokenPublic)
async def login(
    request: Request,
    response: Response,
    state: StateDep,
    session: SessionDep,
    username: Annotated[str, Form(min_length=1, max_length=254, description="Username or email.")],
    password: Annotated[str, Form(min_length=1, max_length=MAX_PASSWORD_LENGTH)],
    tenant: Annotated[
        str | None,
        Form(
            max_length=63,
            description="Tenant slug, for users in several tenants (default: the first).",
        ),
    ] = None,
) -> TokenPublic:
    """Log in with the OAuth2 password form.

    Answers a short-lived access token and sets a rotating refresh token in an httpOnly,
    SameSite=Strict cookie. Failed attempts are limited per username and client address.
    """
    settings = state.settings
    try:
        issued = await auth_service.login(
            session,
            username=username,
            password=password,
            tenant_slug=tenant or None,
            client_ip=client_ip(request, settings.server.trusted_proxies),
            limiter=state.limiter,
            tokens=_tokens(settings),
        )
    except DomainError as exc:
        if isinstance(exc, QuotaExceeded):
            state.metrics.rate_limited.labels(limit="login_failure").inc()
        raise
    await session.commit()
    return _answer(issued, request, response, settings)


@router.post(
    "/refresh",
    response_model=TokenPublic,
    responses={204: {"description": "`optional=true` and no refresh cookie was sent."}},
)
async def refresh_access_token(
    request: Request,
    response: Response,
    state: StateDep,
    session: SessionDep,
    optional: Annotated[
        bool,
        Query(
            description="A page load asking whether a session exists: answer 204 instead of "
            "401 when the request carries no refresh cookie at all."
        ),
    ] = False,
) -> TokenPublic | Response:
    """Trade the refresh cookie for a new access token and a new refresh cookie.

    A refresh token works once; presenting a used one ends every session of that login.
    """
    settings = state.settings
    if optional and not request.cookies.get(REFRESH_COOKIE):
        return PlainResponse(status_code=204)
    try:
        issued = await auth_service.refresh(
            session, token=request.cookies.get(REFRESH_COOKIE), tokens=_tokens(settings)
        )
    except DomainError as exc:
        await session.commit()  # keep the revocations made while refusing
        exc.headers.update(_clearing_headers(request, settings))
        raise
    await session.commit()
    return _answer(issued, request, response, settings)


@router.post("/logout", status_code=204)
async def logout(request: Request, state: StateDep, session: SessionDep) -> Response:
    """End this login: revoke its refresh tokens and clear the cookie."""
    await auth_service.logout(session, token=request.cookies.get(REFRESH_COOKIE))
    await session.commit()
    response = Response(status_code=204)
    _clear_cookie(request, response, state.settings)
    return response


@router.get("/me", response_model=MePublic)
async def get_me(principal: Viewer, session: SessionDep) -> MePublic:
    """Who the credentials belong to, in which tenant, with which role."""
    tenant = await session.get(Tenant, principal.tenant_id)
    if tenant is None:
        raise ProblemError(401, "unauthorized", "this tenant no longer exists")
    me = MePublic(kind=principal.kind, role=principal.role, tenant=tenant_ref(tenant))
    if principal.kind == "user" and principal.id is not None:
        user = await session.get(User, principal.id)
        me.user = user_ref(user) if user else None
    elif principal.kind == "api_key" and principal.id is not None:
        key = await session.get(ApiKey, principal.id)
        me.api_key = ApiKeyRef(id=key.id, name=key.name, prefix=key.prefix) if key else None
    return me


@router.post("/password", status_code=204)
async def change_password(
    body: PasswordChange,
    principal: Viewer,
    request: Request,
    state: StateDep,
    session: SessionDep,
) -> Response:
    """Change your own password. Your other sessions are logged out; this one stays."""
    keep = None
    if principal.id is not None:
        keep = await auth_service.family_of(
            session, token=request.cookies.get(REFRESH_COOKIE), user_id=principal.id
        )
    await auth_service.change_password(
        session,
        actor=principal,
        current_password=body.current_password,
        new_password=body.new_password,
        keep_family=keep,
        client_ip=client_ip(request, state.settings.server.trusted_proxies),
        limiter=state.limiter,
    )
    await session.commit()
    return Response(status_code=204)
