"""Data protection for staff work: masked queue, audited "show" and views, the audit log in
words and beyond anyone's editing, audit retention, and the privacy notice from the settings."""

from __future__ import annotations

import ast
import dataclasses
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from moderation import retention, views
from service import keys
from service.app import create_app
from service.audit_labels import ACTION_LABELS, DETAIL_LABELS
from service.clock import to_iso
from service.http import privacy
from service.settings import Settings
from service.storage import staff
from tests.chat_clients import Staff, Visitor
from tests.conftest import FakeClock, ask, rows, staff_id, staff_post

StaffClient = Callable[..., Awaitable[TestClient]]
ROOT = Path(__file__).resolve().parent.parent
PHONE = "040 123 4567"
CODE = "131052-308T"
BODY = f"Soita minulle numeroon {PHONE}, hetu {CODE}. Miten haen työpajaan?"


async def _personal_question(client: TestClient) -> int:
    return int((await ask(client, body=BODY, personal_data_confirmed=True))["id"])


def _audit(settings: Settings, action: str) -> list[tuple[object, ...]]:
    return rows(
        settings,
        "SELECT staff_id, target_type, target_id FROM audit_log WHERE action = ? ORDER BY id",
        (action,),
    )


async def test_the_queue_masks_personal_details_in_html_json_and_socket(
    client: TestClient, staff_client: StaffClient, on_duty: Callable[..., Awaitable[Staff]]
) -> None:
    question_id = await _personal_question(client)
    sanna = await staff_client("sanna", "counsellor", "Sanna")

    finnish = await (await sanna.get("/staff/queue?lang=fi")).text()
    assert "[puhelinnumero]" in finnish and "[henkilötunnus]" in finnish
    assert PHONE not in finnish and CODE not in finnish
    assert f'action="/staff/questions/{question_id}/show-personal-data"' in finnish
    swedish = await (await sanna.get("/staff/queue?lang=sv")).text()
    assert "[ett telefonnummer]" in swedish and PHONE not in swedish
    english = await (await sanna.get("/staff/queue?lang=en")).text()
    assert "[a phone number]" in english and "[a personal identity code]" in english

    [item] = await (await sanna.get("/api/staff/queue")).json()
    assert item["masked"] is True
    assert PHONE not in item["body"] and CODE not in item["body"]
    assert item["personal_data"] == ["identity_code", "phone"]

    mikko = await on_duty("mikko", "adviser", "Mikko")
    pushed = await mikko.until("questions", lambda p: bool(p["items"]))
    assert PHONE not in json.dumps(pushed) and pushed["items"][0]["masked"] is True

    # The moderation view of one question shows them, highlighted as before.
    assert PHONE in await (await sanna.get(f"/staff/questions/{question_id}")).text()
    assert PHONE in (await (await sanna.get(f"/api/staff/questions/{question_id}")).json())["body"]


async def test_a_question_without_personal_details_has_no_show_button(
    client: TestClient, staff_client: StaffClient
) -> None:
    await ask(client, body="Miten haen työpajaan, kun en päässyt opiskelemaan?")
    sanna = await staff_client("sanna", "counsellor", "Sanna")
    page = await (await sanna.get("/staff/queue")).text()
    assert "show-personal-data" not in page
    [item] = await (await sanna.get("/api/staff/queue")).json()
    assert item["masked"] is False
    assert item["body"] == "Miten haen työpajaan, kun en päässyt opiskelemaan?"


async def test_show_is_audited_and_unmasks_for_the_one_who_asked_for_a_while(
    client: TestClient,
    staff_client: StaffClient,
    coordinator: TestClient,
    settings: Settings,
    clock: FakeClock,
) -> None:
    question_id = await _personal_question(client)
    sanna = await staff_client("sanna", "counsellor", "Sanna")
    mikko = await staff_client("mikko", "adviser", "Mikko")
    show = f"/staff/questions/{question_id}/show-personal-data"

    forged = await sanna.post(show, data={"csrf_token": "x"}, allow_redirects=False)
    assert forged.status == 403
    assert _audit(settings, views.SHOWN) == []
    assert (await sanna.get(f"/staff/queue/shown/{question_id}", allow_redirects=False)).headers[
        "Location"
    ] == "/staff/queue", "no audit row, no details"

    shown = await staff_post(sanna, show)
    assert shown.status == 303
    assert shown.headers["Location"] == f"/staff/queue/shown/{question_id}#shown-{question_id}"
    assert _audit(settings, views.SHOWN) == [(staff_id(settings, "sanna"), "question", question_id)]
    page = await (await sanna.get(f"/staff/queue/shown/{question_id}")).text()
    assert PHONE in page and CODE in page
    assert page.count(PHONE) == 1, "the live table stays masked; the details stand above it"

    other = await mikko.get(f"/staff/queue/shown/{question_id}", allow_redirects=False)
    assert other.status == 303 and other.headers["Location"] == "/staff/queue"
    clock.advance(minutes=11)
    late = await sanna.get(f"/staff/queue/shown/{question_id}", allow_redirects=False)
    assert late.status == 303, "a show lasts ten minutes"

    api = await mikko.post(f"/api/staff/questions/{question_id}/personal-data", json={})
    assert api.status == 200
    unmasked = await api.json()
    assert PHONE in unmasked["body"] and unmasked["masked"] is False
    assert len(_audit(settings, views.SHOWN)) == 2

    assert (await staff_post(sanna, "/staff/questions/999999/show-personal-data")).status == 404
    refused = await coordinator.post(f"/api/staff/questions/{question_id}/personal-data", json={})
    assert refused.status == 403
    assert len(_audit(settings, views.SHOWN)) == 2


async def test_opening_a_question_is_audited_once_in_ten_minutes(
    client: TestClient, staff_client: StaffClient, settings: Settings, clock: FakeClock
) -> None:
    """Needs the one line in service/http/staff.py's _question_page (views.record_view)."""
    question_id = await _personal_question(client)
    sanna = await staff_client("sanna", "counsellor", "Sanna")
    for _ in range(3):
        assert (await sanna.get(f"/staff/questions/{question_id}")).status == 200
    sanna_id = staff_id(settings, "sanna")
    assert _audit(settings, views.VIEWED) == [(sanna_id, "question", question_id)]
    clock.advance(minutes=10, seconds=1)
    await sanna.get(f"/staff/questions/{question_id}")
    assert len(_audit(settings, views.VIEWED)) == 2


async def test_opening_a_chat_transcript_is_audited(
    client: TestClient,
    on_duty: Callable[..., Awaitable[Staff]],
    visitor: Callable[..., Awaitable[Visitor]],
    settings: Settings,
    clock: FakeClock,
) -> None:
    mikko = await on_duty("mikko", "adviser", "Mikko")
    v = await visitor()
    await v.start("Hei, kysyisin työnhausta.")
    [chat_id] = await mikko.own_chat_ids(1)
    for _ in range(2):
        assert (await mikko.call("resume", {"chat_id": chat_id, "after": 0}))["ok"] is True
    assert _audit(settings, views.VIEWED) == [(staff_id(settings, "mikko"), "chat", chat_id)]
    clock.advance(minutes=11)
    await mikko.call("resume", {"chat_id": chat_id, "after": 0})
    assert len(_audit(settings, views.VIEWED)) == 2


async def test_views_are_filterable_and_every_log_word_is_translated(
    client: TestClient,
    staff_client: StaffClient,
    coordinator: TestClient,
    settings: Settings,
) -> None:
    question_id = await _personal_question(client)
    other_id = await _personal_question(client)
    sanna = await staff_client("sanna", "counsellor", "Sanna")
    for target in (question_id, other_id):
        await staff_post(sanna, f"/staff/questions/{target}/show-personal-data")
    ctx = client.server.app[keys.MODERATION]
    member = await staff.by_id(ctx.db, staff_id(settings, "sanna"))
    assert member is not None
    await views.record_view(ctx, target_type="question", target_id=other_id, acting_staff=member)
    rows(
        settings,
        "INSERT INTO audit_log (at, staff_id, action, target_type, target_id, detail)"
        " VALUES ('2026-11-24T10:00:00Z', NULL, 'chat_configure', 'chat_settings', NULL, ?)",
        (
            json.dumps(
                {
                    "weekly": {"mon": ["9:00-16:00"], "sat": []},
                    "offer_question_after_s": 900,
                    "auto_assign": True,
                    "exceptions": [{"day": "2026-12-24", "hours": [], "note": "Jouluaatto"}],
                }
            ),
        ),
    )

    page = await (await coordinator.get("/coordinator/audit?lang=fi&action=viewed")).text()
    assert page.count('<tr id="audit-') == 1 and "Avasi luettavaksi" in page
    assert '<option value="viewed" selected>Avasi luettavaksi</option>' in page
    by_item = await (
        await coordinator.get(f"/coordinator/audit?target=question&item={question_id}")
    ).text()
    assert by_item.count('<tr id="audit-') == 1 and "Näytti peitetyt henkilötiedot" in by_item

    settings_row = await (await coordinator.get("/coordinator/audit?target=chat_settings")).text()
    for words in ("Maanantai: 9:00-16:00", "Lauantai: suljettu", "15 minuuttia", "kyllä"):
        assert words in settings_row, words
    for key in ("offer_question_after_s", "auto_assign", ">mon", "weekly", "exceptions"):
        assert key not in settings_row.split("<main")[1], key
    swedish_url = "/coordinator/audit?lang=sv&target=chat_settings"
    swedish = await (await coordinator.get(swedish_url)).text()
    assert "Måndag" in swedish or "måndag" in swedish

    for query, field in (("item=abc&target=question", "item"), ("item=3", "target")):
        refused = await coordinator.get(f"/coordinator/audit?{query}")
        assert refused.status == 400, query
        assert f'id="{field}-error"' in await refused.text(), query


def _action_argument(call: ast.Call) -> ast.expr | None:
    """The action in audit.append(action=…), ctx.audit(tx, who, ACTION, …) and the modules'
    own _audit(…, …, who, ACTION, …) helpers."""
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr == "append":
        if isinstance(func.value, ast.Name) and func.value.id == "audit":
            return next((k.value for k in call.keywords if k.arg == "action"), None)
        return None
    if isinstance(func, ast.Attribute) and func.attr == "audit" and len(call.args) > 2:
        return call.args[2]
    if isinstance(func, ast.Name) and func.id == "_audit" and len(call.args) > 3:
        return call.args[3]
    return None


def _strings(value: ast.expr) -> set[str]:
    """The strings a name may be given: "x", or "x" if … else "y"."""
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return {value.value}
    if isinstance(value, ast.IfExp):
        return _strings(value.body) | _strings(value.orelse)
    return set()


def _written_actions() -> set[str]:
    """Every audit action the code writes, names resolved to the strings assigned to them."""
    found: set[str] = set()
    for path in [*ROOT.glob("service/**/*.py"), *ROOT.glob("moderation/**/*.py")]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        assigned: dict[str, set[str]] = {}
        parameters: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign):
                texts = _strings(node.value)
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        assigned.setdefault(target.id, set()).update(texts)
            elif isinstance(node, ast.arg):
                parameters.add(node.arg)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            action = _action_argument(node)
            if isinstance(action, ast.Constant) and isinstance(action.value, str):
                found.add(action.value)
            elif isinstance(action, ast.Name) and action.id in assigned:
                found.update(assigned[action.id])
            elif action is not None:
                # Only a helper passing its own parameter on may leave the action unknown here.
                assert isinstance(action, ast.Name) and action.id in parameters, (
                    f"{path}:{node.lineno}: cannot tell which action is written"
                )
    return found


def test_every_action_written_anywhere_has_a_label() -> None:
    written = _written_actions()
    assert {"viewed", "show_personal_data", "retention_swept", "staff_deactivate"} <= written
    assert len(written) >= 35
    assert written - set(ACTION_LABELS) == set()
    for coming in (
        "enrol_second_factor",
        "reset_second_factor",
        "change_own_password",
        "export_personal_data",
        "erase_personal_data",
    ):
        assert coming in ACTION_LABELS
    assert {"offer_question_after_s", "auto_assign", "weekly", "audit_rows"} <= set(DETAIL_LABELS)


async def test_audit_rows_cannot_be_changed_or_deleted_except_by_retention(
    client: TestClient, staff_client: StaffClient, settings: Settings, clock: FakeClock
) -> None:
    await staff_client("sanna", "counsellor", "Sanna")
    old = "2023-01-01T00:00:00Z"
    rows(
        settings,
        "INSERT INTO audit_log (at, staff_id, action, target_type, target_id)"
        " VALUES (?, NULL, 'sign_in', 'staff', 1)",
        (old,),
    )
    count = len(rows(settings, "SELECT id FROM audit_log"))
    for sql in (
        "UPDATE audit_log SET action = 'nothing'",
        "UPDATE audit_log SET staff_id = NULL",
        "DELETE FROM audit_log",
        f"DELETE FROM audit_log WHERE at = '{old}'",
    ):
        with pytest.raises(Exception, match="audit_log rows"):
            rows(settings, sql)
    db = client.server.app[keys.DB]
    # Deleting a staff member would set their rows' staff_id to NULL (with foreign keys on, as
    # Koppi's own connection has them): refused too, so erasure keeps the row.
    with pytest.raises(Exception, match="audit_log rows"):
        async with db.transaction() as tx:
            await tx.execute("DELETE FROM staff WHERE username = 'sanna'")
    if settings.database_url is not None:
        with pytest.raises(Exception, match="audit_log rows"):
            rows(settings, "TRUNCATE audit_log CASCADE")
    assert len(rows(settings, "SELECT id FROM audit_log")) == count
    assert rows(settings, "SELECT action FROM audit_log WHERE at = ?", (old,)) == [("sign_in",)]

    policy = retention.Policy(audit_days=730)
    dry = await retention.sweep(db, clock(), policy, dry_run=True)
    assert dry.counts()["audit_rows"] == 1
    swept = await retention.sweep(db, clock(), policy)
    assert swept.counts()["audit_rows"] == 1
    assert rows(settings, "SELECT count(*) FROM audit_log WHERE at = ?", (old,)) == [(0,)]
    assert len(rows(settings, "SELECT id FROM audit_log")) == count, "the sweep's own row"
    assert rows(settings, "SELECT name FROM maintenance WHERE name = 'audit_kept_from'") == []
    with pytest.raises(Exception, match="audit_log rows"):
        rows(settings, "DELETE FROM audit_log")


async def test_a_retention_setting_changes_both_the_privacy_page_and_the_sweep(
    aiohttp_client: Callable[..., Awaitable[TestClient]], settings: Settings, clock: FakeClock
) -> None:
    changed = dataclasses.replace(
        settings,
        retain_audit_days=100,
        retain_chat_days=12,
        retain_private_days=45,
        retain_rejected_days=7,
    )
    app = create_app(changed, clock=clock)
    client = await aiohttp_client(app)
    page = await (await client.get("/privacy?lang=en")).text()
    for days in (100, 12, 45, 7, privacy.BACKUP_DAYS):
        assert f"{days} days" in page, days
    policy = retention.Policy.from_settings(changed)
    assert (policy.audit_days, policy.chat_days, policy.private_days, policy.rejected_days) == (
        100,
        12,
        45,
        7,
    )
    for days_ago in (101, 99):
        rows(
            changed,
            "INSERT INTO audit_log (at, staff_id, action, target_type, target_id)"
            " VALUES (?, NULL, 'sign_out', 'staff', ?)",
            (to_iso(clock() - timedelta(days=days_ago)), days_ago),
        )
    swept = await retention.sweep(app[keys.DB], clock(), policy)
    assert swept.counts()["audit_rows"] == 1
    kept = rows(changed, "SELECT target_id FROM audit_log WHERE action = 'sign_out'")
    assert kept == [(99,)]


def test_backups_are_kept_as_long_as_the_privacy_page_says() -> None:
    unit = (ROOT / "deploy/systemd/koppi-backup.service").read_text(encoding="utf-8")
    assert f"-mtime +{privacy.BACKUP_DAYS} " in unit


CONTROLLER = {
    "controller_name": "Esimerkkilän kaupunki",
    "controller_address": "Kaupungintalo, PL 1, 00100 Esimerkkilä",
    "dpo_contact": "tietosuoja@esimerkkila.fi",
}
IN_LANGUAGE = {
    "fi": ("Rekisterinpitäjä", "6 artiklan 1 kohdan e alakohta", "Tietosuojavaltuutetun toimisto"),
    "sv": ("Personuppgiftsansvarig", "artikel 6.1 e", "Dataombudsmannens byrå"),
    "en": ("Controller", "6(1)(e)", "the Office of the Data Protection Ombudsman"),
}


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
async def test_privacy_page_names_the_controller_from_the_settings(
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    settings: Settings,
    clock: FakeClock,
    lang: str,
) -> None:
    client = await aiohttp_client(
        create_app(dataclasses.replace(settings, **CONTROLLER), clock=clock)
    )
    page = await (await client.get(f"/privacy?lang={lang}")).text()
    for value in CONTROLLER.values():
        assert value in page
    for words in IN_LANGUAGE[lang]:
        assert words in page, words
    assert 'href="https://tietosuoja.fi' in page
    assert 'id="controller-missing"' not in page

    consent = await aiohttp_client(
        create_app(dataclasses.replace(settings, legal_basis="consent"), clock=clock)
    )
    demo = await (await consent.get(f"/privacy?lang={lang}")).text()
    assert 'id="controller-missing"' in demo
    assert ("6(1)(a)" if lang == "en" else "a") in demo
    assert CONTROLLER["controller_name"] not in demo


async def test_legitimate_interest_is_explained(
    client: TestClient, settings: Settings, aiohttp_client: Callable[..., Awaitable[TestClient]]
) -> None:
    other = await aiohttp_client(
        create_app(dataclasses.replace(settings, legal_basis="legitimate_interest"))
    )
    assert "6(1)(f)" in await (await other.get("/privacy?lang=en")).text()
    assert "6(1)(e)" in await (await client.get("/privacy?lang=en")).text()
