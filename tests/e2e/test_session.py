"""Sessions in the browser: bad logins, staying signed in across reloads, deep links, theme."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.support import ADMIN, VIEWER, login, shoot

pytestmark = pytest.mark.e2e

NewPage = Callable[..., Page]


def test_wrong_password_shows_the_problem_detail(new_page: NewPage) -> None:
    page = new_page()
    page.goto("/login")
    page.get_by_label("Username or email").fill(VIEWER.username)
    page.get_by_label("Password").fill("wrong password, clearly")
    page.get_by_role("button", name="Sign in").click()
    alert = page.get_by_role("alert")
    expect(alert).to_be_visible()
    expect(alert).not_to_be_empty()
    expect(page).to_have_url(re.compile(r"/login$"))
    shoot(page, "12-login-failed")


def test_deep_link_comes_back_after_login_and_reload_keeps_the_session(
    new_page: NewPage,
) -> None:
    page = new_page()
    page.goto("/settings/audit-log")
    expect(page).to_have_url(re.compile(r"/login$"))
    page.get_by_label("Username or email").fill(ADMIN.username)
    page.get_by_label("Password").fill(ADMIN.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/settings/audit-log$"))
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()

    # The access token lives in memory only; a reload signs in again with the refresh cookie.
    page.reload()
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    assert page.evaluate("() => Object.keys(localStorage)") == []
    cookies = page.context.cookies()
    assert cookies and all(c["httpOnly"] for c in cookies)


def test_theme_choice_is_remembered(new_page: NewPage) -> None:
    page = new_page(color_scheme="light")
    login(page, VIEWER)
    html = page.locator("html")
    expect(html).not_to_have_attribute("data-theme", re.compile(".*"))
    page.get_by_role("button", name="User menu").click()
    page.get_by_role("button", name="Dark").click()
    expect(html).to_have_attribute("data-theme", "dark")
    background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    page.reload()
    page.get_by_role("button", name="User menu").wait_for()
    expect(html).to_have_attribute("data-theme", "dark")
    assert page.evaluate("() => getComputedStyle(document.body).backgroundColor") == background
    assert background != "rgb(245, 246, 248)"  # the light background
    shoot(page, "13-dark-theme-pinned", dark_too=False)
    page.get_by_role("button", name="User menu").click()
    page.get_by_role("button", name="System").click()
    expect(html).not_to_have_attribute("data-theme", re.compile(".*"))
    assert page.evaluate("() => localStorage.getItem('agentdeck.theme')") is None
