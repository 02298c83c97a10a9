"""A throwaway nginx for the tests: Debian's binary run as the current user on a free loopback
port, with the site rendered from the shipped deploy/nginx/koppi.conf and its locations file, so
a test goes through what an IT team installs. Stopped at the end."""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from tests.throwaway import free_port, installed

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "deploy" / "nginx" / "koppi.conf"
LOCATIONS = ROOT / "deploy" / "nginx" / "koppi-locations.conf"
# Where docs/deploy.md installs the locations file; the site includes it from there.
INSTALLED_LOCATIONS = "/etc/nginx/snippets/koppi-locations.conf"
INSTALLED_LOGS = "/var/log/nginx/"
MIME_TYPES = Path("/etc/nginx/mime.types")

HOW_TO_GET = (
    "nginx is not installed: the tests of the shipped nginx config are skipped."
    " Install Debian's `nginx` package (sh .ci/system-deps.sh does) to run them."
)


def nginx_path() -> str | None:
    return installed("nginx", "/usr/sbin/nginx")


def statements(text: str) -> list[str]:
    """The top-level statements of an nginx file (a `name …;` or a `name … { … }`), each with
    the comments before it. Enough for our own file: braces and semicolons inside quotes or
    comments are skipped."""
    found: list[str] = []
    start = depth = 0
    quote = ""
    unfinished = False  # a word since the last statement ended
    i = 0
    while i < len(text):
        char = text[i]
        if quote:
            if char == "\\":
                i += 1
            elif char == quote:
                quote = ""
        elif char == "#":
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
            continue
        elif char in "\"'":
            quote = char
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                found.append(text[start : i + 1])
                start, unfinished = i + 1, False
                i += 1
                continue
        elif char == ";" and depth == 0:
            found.append(text[start : i + 1])
            start, unfinished = i + 1, False
            i += 1
            continue
        if not char.isspace():
            unfinished = True
        i += 1
    if depth or quote or unfinished:
        raise ValueError("unbalanced braces or quotes, or a statement without `;`")
    return found


def _directive(statement: str) -> str:
    """The directive's name, past the comments before it."""
    for line in statement.splitlines():
        words = line.split()
        if words and not words[0].startswith("#"):
            return words[0]
    return ""


def _with_backends(upstream: str, backends: list[int]) -> str:
    """The upstream's `server` lines replaced by one per backend port, with the same options."""
    lines = upstream.splitlines()
    servers = [n for n, line in enumerate(lines) if re.match(r"\s*server\s", line)]
    if not servers:
        raise ValueError("an upstream without servers")
    template = re.match(r"(\s*)server\s+\S+?(\s.*)?;", lines[servers[0]])
    assert template is not None
    indent, options = template[1], template[2] or ""
    replaced = [f"{indent}server 127.0.0.1:{port}{options};" for port in backends]
    kept = [line for n, line in enumerate(lines) if n not in servers]
    kept[servers[0] : servers[0]] = replaced
    return "\n".join(kept)


def _local_paths(text: str, folder: Path) -> str:
    """Logs into `folder`, and the locations file from the repository."""
    return text.replace(INSTALLED_LOGS, f"{folder}/").replace(INSTALLED_LOCATIONS, str(LOCATIONS))


def _is_redirect(server: str) -> bool:
    return "return 301 https://" in server


_LISTEN = re.compile(r"(?m)^(\s*)listen\s+(\[[^\]]*\]:)?(\d+)([^;]*);\n?")


def _loopback_listens(text: str, ports: dict[int, int]) -> str:
    """Every listen on a loopback port instead (`ports` maps a shipped port to a free one, and
    gains the ports it did not have), with the same options. `nginx -t` binds them too: a user
    cannot bind below 1024, and a distribution's nginx may hold 80 and 443. IPv6 listens go,
    since a container may have no IPv6."""

    def loopback(match: re.Match[str]) -> str:
        indent, ipv6, port, options = match.groups()
        if ipv6:
            return ""
        local = ports.setdefault(int(port), free_port())
        return f"{indent}listen 127.0.0.1:{local}{options};\n"

    return _LISTEN.sub(loopback, text)


def site_as_shipped(
    folder: Path,
    certificate: Path,
    key: Path,
    *,
    ports: dict[int, int] | None = None,
    backends: list[int] | None = None,
) -> str:
    """The shipped site with TLS, unchanged but for its listen ports (on loopback), its
    certificate, its log and include paths, and optionally its upstreams' servers."""
    text = _loopback_listens(SITE.read_text(encoding="utf-8"), {} if ports is None else ports)
    text = re.sub(r"(?m)^(\s*ssl_certificate)\s+\S+;", rf"\1 {certificate};", text)
    text = re.sub(r"(?m)^(\s*ssl_certificate_key)\s+\S+;", rf"\1 {key};", text)
    if backends is not None:
        text = "\n".join(
            _with_backends(statement, backends)
            if _directive(statement) == "upstream"
            else statement
            for statement in statements(text)
        )
    return _local_paths(text, folder)


def site_for_test(folder: Path, port: int, backends: list[int]) -> str:
    """The shipped site as plain HTTP on 127.0.0.1:`port` in front of `backends`: its
    upstreams, maps and log format as shipped, the HTTPS server's locations as shipped, the
    redirect server left out and TLS taken away."""
    rendered: list[str] = []
    for statement in statements(SITE.read_text(encoding="utf-8")):
        name = _directive(statement)
        if name == "upstream":
            statement = _with_backends(statement, backends)
        elif name == "server":
            if _is_redirect(statement):
                continue
            lines = [
                line for line in statement.splitlines() if not re.match(r"\s*(listen|ssl_)", line)
            ]
            opening = next(n for n, line in enumerate(lines) if line.rstrip().endswith("{"))
            lines.insert(opening + 1, f"    listen 127.0.0.1:{port};")
            statement = "\n".join(lines)
        rendered.append(statement)
    return _local_paths("\n".join(rendered) + "\n", folder)


def main_config(folder: Path, site: str) -> Path:
    """An nginx.conf like Debian 12's own around `site` (its http-level settings too, so a
    directive the site repeats at that level fails here as it would there), with every path
    in `folder`."""
    for temp in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / "temp" / temp).mkdir(parents=True, exist_ok=True)
    (folder / "koppi.conf").write_text(site, encoding="utf-8")
    # Under root, the workers would otherwise run as `nobody` and find the folder closed.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};\n" if os.geteuid() == 0 else ""
    mime = f"    include {MIME_TYPES};\n" if MIME_TYPES.exists() else ""
    conf = folder / "nginx.conf"
    conf.write_text(
        f"""{user}worker_processes 1;
events {{
    worker_connections 768;
}}
http {{
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
{mime}    default_type application/octet-stream;
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers on;
    access_log {folder}/access.log;
    gzip on;
    client_body_temp_path {folder}/temp/body;
    proxy_temp_path {folder}/temp/proxy;
    fastcgi_temp_path {folder}/temp/fastcgi;
    uwsgi_temp_path {folder}/temp/uwsgi;
    scgi_temp_path {folder}/temp/scgi;
    include {folder}/koppi.conf;
}}
""",
        encoding="utf-8",
    )
    return conf


def _command(folder: Path, conf: Path, *extra: str) -> list[str]:
    binary = nginx_path()
    if binary is None:
        raise FileNotFoundError(HOW_TO_GET)
    return [
        binary,
        "-p",
        f"{folder}/",
        "-c",
        str(conf),
        "-g",
        f"daemon off; pid {folder}/nginx.pid; error_log {folder}/error.log;",
        *extra,
    ]


def check_config(folder: Path, conf: Path) -> subprocess.CompletedProcess[str]:
    """`nginx -t` on `conf`; the result says whether nginx accepted it, and why not."""
    return subprocess.run(
        _command(folder, conf, "-t"), capture_output=True, text=True, timeout=30, check=False
    )


class Proxy:
    """A running nginx in front of some Koppi processes: plain HTTP on `url`, or with `tls`
    (a certificate and its key) the shipped HTTPS server on `url` and its redirect server on
    `http_url`."""

    def __init__(
        self, folder: Path, backends: list[int], tls: tuple[Path, Path] | None = None
    ) -> None:
        self.folder = folder
        self.backends = backends
        self.tls = tls
        self.ports: dict[int, int] = {}
        if tls is None:
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            self.site = site_for_test(folder, self.port, backends)
        else:
            self.site = site_as_shipped(folder, *tls, ports=self.ports, backends=backends)
            self.port = self.ports[443]
            self.url = f"https://127.0.0.1:{self.port}"
            self.http_url = f"http://127.0.0.1:{self.ports[80]}"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def access_log(self) -> Path:
        return self.folder / "koppi-access.log"

    @property
    def error_log(self) -> Path:
        return self.folder / "error.log"

    def start(self) -> None:
        conf = main_config(self.folder, self.site)
        checked = check_config(self.folder, conf)
        if checked.returncode:
            raise RuntimeError(f"nginx refused the rendered config: {checked.stderr.strip()}")
        with (self.folder / "stderr.log").open("wb") as stderr:
            self.process = subprocess.Popen(
                _command(self.folder, conf), stdout=subprocess.DEVNULL, stderr=stderr
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {self._log_tail()}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                return
            time.sleep(0.05)
        raise RuntimeError(f"nginx did not start within 10 s: {self._log_tail()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # a fast shutdown: workers close their connections
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def _log_tail(self) -> str:
        texts = []
        for log in (self.error_log, self.folder / "stderr.log"):
            with contextlib.suppress(OSError):
                texts.append(log.read_text(errors="replace")[-2000:])
        return " ".join(" ".join(texts).split())


@contextlib.contextmanager
def running_nginx(
    backends: list[int], folder: Path, *, tls: tuple[Path, Path] | None = None
) -> Iterator[Proxy]:
    """nginx on a free loopback port in front of Koppi processes on `backends` (ports on
    127.0.0.1), stopped when the block ends, whatever happens."""
    folder.mkdir(parents=True, exist_ok=True)
    proxy = Proxy(folder, backends, tls)
    try:
        proxy.start()
        yield proxy
    finally:
        proxy.stop()


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A throwaway certificate for localhost and its key, valid for a day."""
    certificate, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(certificate),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return certificate, key
