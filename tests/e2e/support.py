"""Accounts and page helpers shared by the browser tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-results" / "e2e"
PASSWORD = "e2e password that is long enough"


@dataclass(frozen=True)
class Account:
    username: str
    email: str
    role: str
    password: str = PASSWORD


ADMIN = Account("ada", "ada@example.test", "admin")
DEVELOPER = Account("dev", "dev@example.test", "developer")
VIEWER = Account("vic", "vic@example.test", "viewer")


def shoot(page: Page, name: str, *, dark_too: bool = True) -> None:
    """Saves full-page screenshots as test-results/e2e/<name>.png (and <name>-dark.png)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")  # sticky bars stitch badly when scrolled
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True, animations="disabled")
    if dark_too:
        page.emulate_media(color_scheme="dark")
        page.screenshot(
            path=str(SCREENSHOTS / f"{name}-dark.png"), full_page=True, animations="disabled"
        )
        page.emulate_media(color_scheme="light")


def login(page: Page, account: Account) -> None:
    """Signs in through the login form and waits for the app shell."""
    page.goto("/login")
    page.get_by_label("Username or email").fill(account.username)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="User menu").wait_for()
