"""Run-time settings: one frozen dataclass read from KOPPI_* environment variables once."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class SettingsError(ValueError):
    """A KOPPI_* variable has a value the service cannot use."""


@dataclass(frozen=True)
class Settings:
    db_path: Path
    host: str = "127.0.0.1"
    port: int = 8080
    secret: str = ""
    secure_cookies: bool = False
    demo: bool = False
    access_log: bool = False
    claim_idle_minutes: int = 30
    session_hours: int = 12
    login_max_failures: int = 5
    login_lock_minutes: int = 15
    chat_idle_minutes: int = 10
    rate_limits: bool = True
    # How often chat housekeeping runs (absent staff, idle visitors, fresh estimates).
    chat_tick_seconds: float = 15.0

    @property
    def data_dir(self) -> Path:
        return self.db_path.parent

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read settings, generating and keeping a secret beside the database when none is given."""
        env = os.environ if env is None else env
        db_path = Path(env.get("KOPPI_DB", "data/koppi.sqlite3")).expanduser().resolve()
        secret = env.get("KOPPI_SECRET", "")
        if not secret:
            secret = _load_or_create_secret(db_path.parent / "secret")
        return cls(
            db_path=db_path,
            host=env.get("KOPPI_HOST", "127.0.0.1"),
            port=_int(env, "KOPPI_PORT", 8080),
            secret=secret,
            secure_cookies=_bool(env, "KOPPI_SECURE_COOKIES", False),
            demo=_bool(env, "KOPPI_DEMO", False),
            access_log=_bool(env, "KOPPI_ACCESS_LOG", False),
            chat_idle_minutes=_positive(env, "KOPPI_CHAT_IDLE_MINUTES", 10),
            rate_limits=_bool(env, "KOPPI_RATE_LIMITS", True),
        )


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    value = _int(env, name, default)
    if value < 1:
        raise SettingsError(f"{name} must be at least 1, not {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingsError(f"{name} must be 1 or 0, not {raw!r}")


def _load_or_create_secret(path: Path) -> str:
    """Keep the generated secret in the data folder, readable by the owner only."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value
