"""Run-time settings: one frozen dataclass read from KOPPI_* environment variables once."""

from __future__ import annotations

import os
import re
import secrets
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class SettingsError(ValueError):
    """A KOPPI_* variable has a value the service cannot use."""


@dataclass(frozen=True)
class Limit:
    """At most `count` events per `seconds`, per key (a visitor token or a hashed address)."""

    count: int
    seconds: int


# Per action and per key kind. Addresses are looser than visitors: a school or a library puts
# many young people behind one address. `KOPPI_LIMIT_CHAT_START_VISITOR=5/3600` overrides one.
DEFAULT_LIMITS: Mapping[str, Limit] = {
    "ask.address": Limit(10, 3600),
    "chat_start.visitor": Limit(5, 3600),
    "chat_start.address": Limit(30, 3600),
    "chat_message.visitor": Limit(20, 60),
    "chat_message.address": Limit(120, 60),
    "sign_in.address": Limit(20, 900),
    # Similar questions while typing: one request per pause, so two a second is generous.
    "search.address": Limit(120, 60),
}

# Crisis help shown beside a crisis word. MIELI's crisis line answers in Finnish, Swedish and
# English on its own numbers; Sekasin is the national mental-health chat for 12–29-year-olds.
DEFAULT_CRISIS_PHONES: Mapping[str, str] = {
    "fi": "09 2525 0111",
    "sv": "09 2525 0112",
    "en": "09 2525 0116",
}
DEFAULT_CRISIS_CHAT_URL = "https://sekasin.fi/"
# Yle's front page: ordinary Finnish news that raises no question on a shared screen.
DEFAULT_QUICK_EXIT_URL = "https://yle.fi/"
# The authority that supervises accessibility (Act 306/2019, section 16): from 2026 the Finnish
# Supervisory Agency (Lupa- ja valvontavirasto), which took over the regional agencies' work.
DEFAULT_ACCESSIBILITY_AUTHORITY = "Lupa- ja valvontavirasto, saavutettavuusvalvonta"
DEFAULT_ACCESSIBILITY_AUTHORITY_URL = "https://www.saavutettavuusvaatimukset.fi/"
# The lawful bases of GDPR article 6(1) a deploying organisation may name on /privacy. A
# municipality's youth and employment services work under (e), a task in the public interest.
LEGAL_BASES = ("public_task", "consent", "legitimate_interest")


@dataclass(frozen=True)
class Settings:
    db_path: Path
    # postgresql://user:password@host:port/dbname runs Koppi on PostgreSQL; None: SQLite at
    # db_path. Either way db_path's folder is the data folder (the secret, demo sign-ins).
    database_url: str | None = None
    # redis://host:port/db runs Koppi as one of several processes sharing the PostgreSQL
    # database: Socket.IO events, the change bus and the rate limits go through Redis.
    redis_url: str | None = None
    # /metrics answers off loopback only with `Authorization: Bearer <metrics_token>`.
    metrics_token: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    secret: str = ""
    # Served over HTTPS (directly or behind a TLS proxy): Secure cookies and HSTS.
    tls: bool = False
    # Behind a reverse proxy, the client address is the last X-Forwarded-For hop.
    trust_forwarded: bool = False
    demo: bool = False
    access_log: bool = False
    claim_idle_minutes: int = 30
    session_hours: int = 12
    # Sign-in failures: login_max_failures from one client address for one username block that
    # pair for login_lock_minutes (also the window failures are counted in). A stranger blocks
    # only their own address. Across all addresses, after login_slow_after failures within the
    # window, an address that has itself failed waits between attempts: 1 s, doubling, at most
    # login_slow_max_seconds. An address without failures (the owner's) is never held back.
    login_max_failures: int = 5
    login_lock_minutes: int = 15
    login_slow_after: int = 10
    login_slow_max_seconds: int = 30
    # Staff sign in with a second factor (TOTP). On by default outside the demo; the dataclass
    # default is off so that code building Settings by hand (tests, benches) opts in.
    staff_2fa: bool = False
    chat_idle_minutes: int = 10
    # A waiting chat whose young person is away keeps its place this long (then leaves the queue).
    chat_queue_grace_seconds: int = 120
    rate_limits: bool = True
    limits: Mapping[str, Limit] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    # Chats waiting at once per client address: one person's flood cannot fill the queue, and
    # a school's other users are served one after another. Lifted with the rate limits.
    max_waiting_per_address: int = 3
    # Retention in days: chat transcripts after the chat ends, private questions after their
    # answer, rejected questions never answered after the rejection.
    retain_chat_days: int = 30
    retain_private_days: int = 90
    retain_rejected_days: int = 30
    # Audit rows are kept this long (two years by default), then deleted by the same sweep.
    retain_audit_days: int = 730
    retention_every_minutes: int = 60
    # The first sweep waits until start-up has settled.
    retention_first_delay_seconds: int = 30
    crisis_phones: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_CRISIS_PHONES))
    crisis_chat_url: str = DEFAULT_CRISIS_CHAT_URL
    # How often chat housekeeping runs (absent staff, idle visitors, fresh estimates).
    chat_tick_seconds: float = 15.0
    # Where the quick-exit button sends a visitor: a neutral site on another host.
    quick_exit_url: str = DEFAULT_QUICK_EXIT_URL
    # Packets waiting for one socket before it is closed as too slow (it reconnects and resumes).
    socket_queue_limit: int = 2000
    # Open connections at once, in total and per client address (an IPv6 /64): slow or
    # half-sent requests cannot use up the process's file descriptors. 200 from one address
    # is some thirty busy browsers (six connections and a socket each) behind one school's
    # address; one address then holds at most a twentieth of the total. The per-address cap
    # is lifted with the rate limits, and behind a proxy (every peer is the proxy).
    max_connections: int = 4000
    max_connections_per_address: int = 200
    # A connection must send a whole request's headers within this many seconds of opening,
    # or of its previous answer (the keep-alive idle time is the same figure).
    header_timeout_seconds: int = 15
    # The organisation that runs this Koppi: the controller of its personal data (/privacy).
    controller_name: str = ""
    controller_address: str = ""
    # How to reach the controller's data protection officer (an address, e-mail or phone).
    dpo_contact: str = ""
    # One of LEGAL_BASES: why the controller may process the data (GDPR article 6(1)).
    legal_basis: str = "public_task"
    # Where accessibility feedback goes: an e-mail address or an https:// form.
    accessibility_feedback: str = ""
    accessibility_authority: str = DEFAULT_ACCESSIBILITY_AUTHORITY
    accessibility_authority_url: str = DEFAULT_ACCESSIBILITY_AUTHORITY_URL

    @property
    def data_dir(self) -> Path:
        return self.db_path.parent

    @property
    def secure_cookies(self) -> bool:
        return self.tls

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read settings, generating and keeping a secret beside the database when none is given."""
        env = os.environ if env is None else env
        db_path = Path(env.get("KOPPI_DB", "data/koppi.sqlite3")).expanduser().resolve()
        secret = env.get("KOPPI_SECRET", "")
        database_url = _database_url(env)
        redis_url = _redis_url(env, database_url, secret)
        if not secret:
            secret = _load_or_create_secret(db_path.parent / "secret")
        demo = _bool(env, "KOPPI_DEMO", False)
        return cls(
            db_path=db_path,
            database_url=database_url,
            redis_url=redis_url,
            metrics_token=env.get("KOPPI_METRICS_TOKEN", "").strip() or None,
            host=env.get("KOPPI_HOST", "127.0.0.1"),
            port=_int(env, "KOPPI_PORT", 8080),
            secret=secret,
            # KOPPI_SECURE_COOKIES is the older name of the same switch.
            tls=_bool(env, "KOPPI_TLS", False) or _bool(env, "KOPPI_SECURE_COOKIES", False),
            trust_forwarded=_bool(env, "KOPPI_TRUST_FORWARDED", False),
            demo=demo,
            staff_2fa=_bool(env, "KOPPI_STAFF_2FA", not demo),
            access_log=_bool(env, "KOPPI_ACCESS_LOG", False),
            chat_idle_minutes=_positive(env, "KOPPI_CHAT_IDLE_MINUTES", 10),
            chat_queue_grace_seconds=_positive(env, "KOPPI_CHAT_QUEUE_GRACE_SECONDS", 120),
            rate_limits=_bool(env, "KOPPI_RATE_LIMITS", True),
            limits=_limits(env),
            max_waiting_per_address=_positive(env, "KOPPI_MAX_WAITING_PER_ADDRESS", 3),
            retain_chat_days=_positive(env, "KOPPI_RETAIN_CHAT_DAYS", 30),
            retain_private_days=_positive(env, "KOPPI_RETAIN_PRIVATE_DAYS", 90),
            retain_rejected_days=_positive(env, "KOPPI_RETAIN_REJECTED_DAYS", 30),
            retain_audit_days=_positive(env, "KOPPI_RETAIN_AUDIT_DAYS", 730),
            retention_every_minutes=_positive(env, "KOPPI_RETENTION_EVERY_MINUTES", 60),
            retention_first_delay_seconds=_int(env, "KOPPI_RETENTION_FIRST_DELAY_SECONDS", 30),
            crisis_phones={
                lang: env.get(f"KOPPI_CRISIS_PHONE_{lang.upper()}", "").strip() or phone
                for lang, phone in DEFAULT_CRISIS_PHONES.items()
            },
            crisis_chat_url=_https_url(env, "KOPPI_CRISIS_CHAT_URL", DEFAULT_CRISIS_CHAT_URL),
            quick_exit_url=_exit_url(env, "KOPPI_QUICK_EXIT_URL", DEFAULT_QUICK_EXIT_URL),
            chat_tick_seconds=_positive(env, "KOPPI_CHAT_TICK_SECONDS", 15),
            socket_queue_limit=_positive(env, "KOPPI_SOCKET_QUEUE_LIMIT", 2000),
            max_connections=_positive(env, "KOPPI_MAX_CONNECTIONS", 4000),
            max_connections_per_address=_positive(env, "KOPPI_MAX_CONNECTIONS_PER_ADDRESS", 200),
            header_timeout_seconds=_positive(env, "KOPPI_HEADER_TIMEOUT_SECONDS", 15),
            controller_name=env.get("KOPPI_CONTROLLER_NAME", "").strip(),
            controller_address=env.get("KOPPI_CONTROLLER_ADDRESS", "").strip(),
            dpo_contact=env.get("KOPPI_DPO_CONTACT", "").strip(),
            legal_basis=_choice(env, "KOPPI_LEGAL_BASIS", LEGAL_BASES),
            accessibility_feedback=_feedback(env, "KOPPI_ACCESSIBILITY_FEEDBACK"),
            accessibility_authority=env.get("KOPPI_ACCESSIBILITY_AUTHORITY", "").strip()
            or DEFAULT_ACCESSIBILITY_AUTHORITY,
            accessibility_authority_url=_https_url(
                env, "KOPPI_ACCESSIBILITY_AUTHORITY_URL", DEFAULT_ACCESSIBILITY_AUTHORITY_URL
            ),
        )


def _database_url(env: Mapping[str, str]) -> str | None:
    raw = env.get("KOPPI_DATABASE_URL", "").strip()
    if not raw:
        return None
    parts = urllib.parse.urlsplit(raw)
    if parts.scheme not in ("postgresql", "postgres") or not parts.path.strip("/"):
        shown = parts._replace(netloc=parts.hostname or "").geturl() if parts.scheme else "…"
        raise SettingsError(
            "KOPPI_DATABASE_URL must be a postgresql://user:password@host:port/dbname URL,"
            f" not {shown!r}"
        )
    return raw


def _redis_url(env: Mapping[str, str], database_url: str | None, secret: str) -> str | None:
    """Several processes share one PostgreSQL database and one secret: both are required."""
    raw = env.get("KOPPI_REDIS_URL", "").strip()
    if not raw:
        return None
    parts = urllib.parse.urlsplit(raw)
    if parts.scheme not in ("redis", "rediss", "unix"):
        shown = parts._replace(netloc=parts.hostname or "").geturl() if parts.scheme else "…"
        raise SettingsError(f"KOPPI_REDIS_URL must be a redis://host:port/db URL, not {shown!r}")
    if database_url is None:
        raise SettingsError(
            "KOPPI_REDIS_URL needs KOPPI_DATABASE_URL: several processes share one PostgreSQL"
            " database (SQLite serves one process)"
        )
    if not secret:
        raise SettingsError(
            "KOPPI_REDIS_URL needs KOPPI_SECRET: every process must sign and hash with the same"
            " secret"
        )
    return raw


_LIMIT_SHAPE = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


def _limits(env: Mapping[str, str]) -> dict[str, Limit]:
    limits = dict(DEFAULT_LIMITS)
    for name in DEFAULT_LIMITS:
        variable = "KOPPI_LIMIT_" + name.replace(".", "_").upper()
        raw = env.get(variable)
        if raw is None or raw == "":
            continue
        shape = _LIMIT_SHAPE.fullmatch(raw)
        if shape is None or int(shape[1]) < 1 or int(shape[2]) < 1:
            raise SettingsError(f"{variable} must look like 5/3600 (count/seconds), not {raw!r}")
        limits[name] = Limit(int(shape[1]), int(shape[2]))
    return limits


def _https_url(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.startswith("https://") or any(c.isspace() for c in raw):
        raise SettingsError(f"{name} must be an https:// address, not {raw!r}")
    return raw


_LOOPBACK_HTTP = re.compile(r"http://(127\.0\.0\.1|localhost)(:\d+)?/\S*")


def _exit_url(env: Mapping[str, str], name: str, default: str) -> str:
    """An https:// address on another site; plain http only on loopback, for tests."""
    raw = env.get(name, "").strip()
    if raw and _LOOPBACK_HTTP.fullmatch(raw):
        return raw
    return _https_url(env, name, default)


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    """One of `choices`; unset is the first."""
    raw = env.get(name, "").strip()
    if not raw:
        return choices[0]
    if raw not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, not {raw!r}")
    return raw


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _feedback(env: Mapping[str, str], name: str) -> str:
    """An e-mail address or an https:// form; unset is empty (the page then names the
    controller's contact)."""
    raw = env.get(name, "").strip()
    if not raw or _EMAIL.fullmatch(raw):
        return raw
    return _https_url(env, name, "")


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
