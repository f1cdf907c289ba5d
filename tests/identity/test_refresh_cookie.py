"""The refresh cookie is Secure whenever the server was reached over HTTPS (directly, or
through a trusted proxy that says so) and always in production; plain HTTP in development
keeps working without it (a browser would drop a Secure cookie there)."""

from __future__ import annotations

import httpx
import pytest

from agentdeck.identity.roles import Role
from tests.conftest import TEST_PASSWORD, Factory
from tests.identity.helpers import COOKIE, LOGOUT, REFRESH, TOKEN, AppFactory


def _cookie_attributes(response: httpx.Response) -> set[str]:
    """The attributes of the refresh cookie the answer sets (lowercased names)."""
    (header,) = [h for h in response.headers.get_list("set-cookie") if h.startswith(COOKIE + "=")]
    return {part.split("=")[0].strip().lower() for part in header.split(";")[1:]}


def _client(app_client: httpx.AsyncClient, base_url: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app_client.app, client=("127.0.0.1", 50000))  # type: ignore[attr-defined]
    return httpx.AsyncClient(transport=transport, base_url=base_url)


async def _session_answers(
    client: httpx.AsyncClient, username: str, headers: dict[str, str]
) -> list[httpx.Response]:
    """Log in, refresh and log out; each answer sets (or clears) the refresh cookie."""
    login = await client.post(
        TOKEN, data={"username": username, "password": TEST_PASSWORD}, headers=headers
    )
    assert login.status_code == 200, login.text
    cookie = {"Cookie": f"{COOKIE}={login.cookies[COOKIE]}"}
    refresh = await client.post(REFRESH, headers={**headers, **cookie})
    assert refresh.status_code == 200, refresh.text
    cookie = {"Cookie": f"{COOKIE}={refresh.cookies[COOKIE]}"}
    logout = await client.post(LOGOUT, headers={**headers, **cookie})
    assert logout.status_code == 204, logout.text
    client.cookies.clear()
    return [login, refresh, logout]


@pytest.mark.parametrize(
    ("base_url", "overrides", "headers", "secure"),
    [
        pytest.param("http://testserver", {}, {}, False, id="http"),
        pytest.param("https://testserver", {}, {}, True, id="https"),
        pytest.param(
            "http://testserver",
            {"server": {"trusted_proxies": ["127.0.0.1"]}},
            {"X-Forwarded-Proto": "https"},
            True,
            id="https-at-a-trusted-proxy",
        ),
        pytest.param(
            "http://testserver",
            {},
            {"X-Forwarded-Proto": "https"},
            False,
            id="forwarded-proto-from-an-untrusted-peer",
        ),
        pytest.param(
            "http://testserver",
            {"server": {"trusted_proxies": ["127.0.0.1"]}},
            {"X-Forwarded-Proto": "http"},
            False,
            id="http-at-a-trusted-proxy",
        ),
        pytest.param("http://testserver", {"environment": "production"}, {}, True, id="production"),
        pytest.param(
            "http://testserver", {"auth": {"cookie_secure": True}}, {}, True, id="configured"
        ),
    ],
)
async def test_refresh_cookie_is_secure_over_https_and_in_production(
    app_factory: AppFactory,
    factory: Factory,
    base_url: str,
    overrides: dict[str, object],
    headers: dict[str, str],
    secure: bool,
) -> None:
    app = await app_factory(**overrides)
    caller = await factory.user(Role.viewer)
    assert caller.username is not None
    async with _client(app, base_url) as client:
        answers = await _session_answers(client, caller.username, headers)
    for answer in answers:
        attributes = _cookie_attributes(answer)
        assert {"httponly", "samesite", "path"} <= attributes
        assert ("secure" in attributes) is secure, (answer.request.url, attributes)


async def test_a_page_load_without_a_cookie_is_not_an_error(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    """The web UI asks `optional=true` on load: no cookie is a 204 (no console error in the
    browser), a bad cookie is still a 401, and without the flag no cookie stays a 401."""
    client.cookies.clear()
    quiet = await client.post(REFRESH, params={"optional": "true"})
    assert (quiet.status_code, quiet.content) == (204, b"")
    assert (await client.post(REFRESH)).status_code == 401
    bad = await client.post(
        REFRESH, params={"optional": "true"}, headers={"Cookie": f"{COOKIE}=not-a-token"}
    )
    assert bad.status_code == 401
    assert bad.headers["content-type"].startswith("application/problem+json")

    user = await factory.user(Role.viewer)
    login = await client.post(TOKEN, data={"username": user.username, "password": TEST_PASSWORD})
    assert login.status_code == 200, login.text
    client.cookies.clear()
    again = await client.post(
        REFRESH,
        params={"optional": "true"},
        headers={"Cookie": f"{COOKIE}={login.cookies[COOKIE]}"},
    )
    assert again.status_code == 200, again.text
    assert again.json()["access_token"]
