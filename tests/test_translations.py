"""Every visible string is translated; the language is chosen per request, Finnish by default."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from aiohttp.test_utils import TestClient
from babel.messages.pofile import read_po

from web import TRANSLATIONS_DIR

ROOT = Path(__file__).resolve().parent.parent


def _extracted(tmp_path: Path) -> set[str]:
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_",
            "-k",
            "gettext",
            "-k",
            "ngettext:1,2",
            "-k",
            "N_",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )
    with pot.open("rb") as handle:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}


def test_finnish_catalog_covers_every_message_in_the_code(tmp_path: Path) -> None:
    with (TRANSLATIONS_DIR / "fi" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle)
    translated = {
        (m.id if isinstance(m.id, str) else m.id[0])
        for m in catalog
        if m.id and not m.fuzzy and (all(m.string) if isinstance(m.string, tuple) else m.string)
    }
    missing = sorted(_extracted(tmp_path) - translated)
    assert missing == [], "run `make messages` and translate: " + repr(missing[:10])


def test_swedish_catalog_covers_every_message_in_the_code(tmp_path: Path) -> None:
    """Every message has a Swedish translation, plurals in both of Swedish's forms."""
    with (TRANSLATIONS_DIR / "sv" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale="sv")
    translated = {
        (m.id if isinstance(m.id, str) else m.id[0])
        for m in catalog
        if m.id
        and not m.fuzzy
        and (len(m.string) == 2 and all(m.string) if isinstance(m.string, tuple) else m.string)
    }
    missing = sorted(_extracted(tmp_path) - translated)
    assert missing == [], f"{len(missing)} messages without Swedish: " + repr(missing[:20])


async def test_finnish_is_the_default_and_lang_switches_per_request(client: TestClient) -> None:
    finnish = await (await client.get("/")).text()
    assert '<html lang="fi">' in finnish and "Kysy meiltä" in finnish
    english = await client.get("/?lang=en")
    assert "Ask a question" in await english.text()
    assert "lang=en" in english.headers["Set-Cookie"]
    remembered = await (await client.get("/ask")).text()
    assert '<html lang="en">' in remembered, "the cookie keeps the choice"
    back = await (await client.get("/ask?lang=fi")).text()
    assert '<html lang="fi">' in back


async def test_errors_are_translated(client: TestClient) -> None:
    response = await client.post(
        "/api/questions?lang=en", json={"body": "", "category": "raha", "publish": True}
    )
    assert (await response.json())["errors"]["body"] == "This field is required."
    response = await client.post(
        "/api/questions?lang=fi", json={"body": "", "category": "raha", "publish": True}
    )
    assert (await response.json())["errors"]["body"] != "This field is required."
