"""Settings: production refuses weak secrets; env vars with prefix and nesting; CSV lists."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from agentdeck.settings import (
    MIN_SECRET_KEY_LENGTH,
    Environment,
    Settings,
)

STRONG = "k" * MIN_SECRET_KEY_LENGTH


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No AGENTDECK_* from the outer environment, and no .env from the working directory."""
    import os

    for name in list(os.environ):
        if name.startswith("AGENTDECK_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults_are_development_and_sqlite() -> None:
    settings = Settings()
    assert settings.environment is Environment.development
    assert settings.database.url == "sqlite+aiosqlite:///./.agentdeck/state.db"
    assert settings.secret_key is None  # no key in the source: see agentdeck.secret_key
    assert settings.redis_url is None
    assert settings.server.port == 8000
    assert settings.rate_limit.enabled is True
    assert settings.write_limits == "60/minute;1000/hour"


@pytest.mark.parametrize("secret", [None, "", "  ", "short", "x" * (MIN_SECRET_KEY_LENGTH - 1)])
def test_production_refuses_default_or_short_secret(
    monkeypatch: pytest.MonkeyPatch, secret: str | None
) -> None:
    monkeypatch.setenv("AGENTDECK_ENVIRONMENT", "production")
    if secret is not None:
        monkeypatch.setenv("AGENTDECK_SECRET_KEY", secret)
    with pytest.raises(ValidationError) as caught:
        Settings()
    assert "AGENTDECK_SECRET_KEY" in str(caught.value)
    if secret and secret.strip():
        assert secret not in str(caught.value).replace("AGENTDECK_SECRET_KEY", "")


def test_production_accepts_a_long_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTDECK_ENVIRONMENT", "production")
    monkeypatch.setenv("AGENTDECK_SECRET_KEY", STRONG)
    settings = Settings()
    assert settings.environment is Environment.production
    assert settings.secret_key.get_secret_value() == STRONG
    assert STRONG not in repr(settings)
    assert settings.write_limits == settings.rate_limit.write_production == "30/minute;1000/hour"


@pytest.mark.parametrize("environment", ["development", "test"])
def test_other_environments_start_without_a_configured_secret(
    monkeypatch: pytest.MonkeyPatch, environment: str
) -> None:
    monkeypatch.setenv("AGENTDECK_ENVIRONMENT", environment)
    monkeypatch.setenv("AGENTDECK_SECRET_KEY", "")  # empty counts as unset
    settings = Settings()
    assert settings.environment == environment
    assert settings.secret_key is None


def test_previous_secret_keys_from_a_comma_separated_or_json_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AGENTDECK_NOTIFY__PREVIOUS_SECRET_KEYS", "old-one, old-two")
    keys = Settings().notify.previous_secret_keys
    assert [k.get_secret_value() for k in keys] == ["old-one", "old-two"]
    monkeypatch.setenv("AGENTDECK_NOTIFY__PREVIOUS_SECRET_KEYS", '["with,comma", "plain"]')
    keys = Settings().notify.previous_secret_keys
    assert [k.get_secret_value() for k in keys] == ["with,comma", "plain"]


def test_env_vars_with_prefix_and_nested_delimiter(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "AGENTDECK_SERVER__PORT": "9001",
        "AGENTDECK_SERVER__HOST": "0.0.0.0",
        "AGENTDECK_SERVER__MAX_BODY_BYTES": "4096",
        "AGENTDECK_DATABASE__URL": "postgresql+asyncpg://deck@db:5432/deck",
        "AGENTDECK_DATABASE__POOL_SIZE": "25",
        "AGENTDECK_AUTH__COOKIE_SECURE": "true",
        "AGENTDECK_RATE_LIMIT__WRITE": "10/minute",
        "AGENTDECK_RATE_LIMIT__ENABLED": "false",
        "AGENTDECK_FEATURES__DEMO": "1",
        "AGENTDECK_REDIS_URL": "redis://cache:6379/1",
        "AGENTDECK_LOG_LEVEL": "DEBUG",
        "AGENTDECK_DEFAULT_AGENT_QUOTA": "3",
        "AGENTDECK_DATA_DIR": "/var/lib/agentdeck",
        "SERVER__PORT": "1",  # no prefix: ignored
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.server.port == 9001
    assert settings.server.host == "0.0.0.0"
    assert settings.server.max_body_bytes == 4096
    assert settings.database.url == "postgresql+asyncpg://deck@db:5432/deck"
    assert settings.database.pool_size == 25
    assert settings.auth.cookie_secure is True
    assert settings.rate_limit.write == "10/minute"
    assert settings.rate_limit.enabled is False
    assert settings.features.demo is True
    assert settings.redis_url == "redis://cache:6379/1"
    assert settings.log_level == "DEBUG"
    assert settings.default_agent_quota == 3
    assert settings.data_dir == Path("/var/lib/agentdeck")


def test_comma_separated_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AGENTDECK_SERVER__CORS_ORIGINS", "https://a.example, https://b.example:8443,,"
    )
    monkeypatch.setenv("AGENTDECK_SERVER__TRUSTED_PROXIES", "10.0.0.1,10.0.0.2")
    settings = Settings()
    assert settings.server.cors_origins == ["https://a.example", "https://b.example:8443"]
    assert settings.server.trusted_proxies == ["10.0.0.1", "10.0.0.2"]
    monkeypatch.setenv("AGENTDECK_SERVER__CORS_ORIGINS", "")
    assert Settings().server.cors_origins == []


def test_lists_from_python_values() -> None:
    settings = Settings(server={"cors_origins": ["https://x.example"]})
    assert settings.server.cors_origins == ["https://x.example"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AGENTDECK_SERVER__PORT", "70000"),
        ("AGENTDECK_SERVER__PORT", "http"),
        ("AGENTDECK_ENVIRONMENT", "staging"),
        ("AGENTDECK_SERVER__MAX_BODY_BYTES", "10"),
        ("AGENTDECK_DEFAULT_AGENT_QUOTA", "-1"),
    ],
)
def test_bad_values_are_refused_naming_the_field(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as caught:
        Settings()
    field = name.removeprefix("AGENTDECK_").lower().split("__")[-1]
    assert field in str(caught.value)


def test_env_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("AGENTDECK_SERVER__PORT=9100\nAGENTDECK_LOG_LEVEL=WARNING\n")
    settings = Settings()
    assert settings.server.port == 9100
    assert settings.log_level == "WARNING"


def test_env_vars_win_over_the_env_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("AGENTDECK_SERVER__PORT=9100\n")
    monkeypatch.setenv("AGENTDECK_SERVER__PORT", "9200")
    assert Settings().server.port == 9200


def test_env_file_path_from_agentdeck_env_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    other = tmp_path / "conf" / "deck.env"
    other.parent.mkdir()
    other.write_text("AGENTDECK_ENVIRONMENT=production\nAGENTDECK_SECRET_KEY=" + STRONG + "\n")
    (tmp_path / ".env").write_text("AGENTDECK_SERVER__PORT=9100\n")
    monkeypatch.setenv("AGENTDECK_ENV_FILE", str(other))
    settings = Settings()
    assert settings.environment is Environment.production
    assert settings.server.port == 8000  # ./.env is not read when another file is named


def test_errors_do_not_echo_input_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTDECK_ENVIRONMENT", "production")
    monkeypatch.setenv("AGENTDECK_SECRET_KEY", "tooshort-but-secret")
    monkeypatch.setenv("AGENTDECK_DATABASE__URL", "postgresql+asyncpg://deck:pa55word@db/deck")
    monkeypatch.setenv("AGENTDECK_DATABASE__POOL_SIZE", "many")
    with pytest.raises(ValidationError) as caught:
        Settings()
    text = str(caught.value)
    assert "secret_key" in text
    assert "pool_size" in text
    assert "tooshort-but-secret" not in text
    assert "pa55word" not in text
