"""The privacy notice: what Koppi stores, for how long and who sees it, in plain words, and who
is responsible for it (GDPR articles 13 and 14), all from the running settings."""

from __future__ import annotations

from aiohttp import web

from service import keys
from service.http.render import render
from service.i18n import N_

# deploy/systemd/koppi-backup.service deletes backups older than this (`-mtime +90`);
# tests/test_data_protection.py keeps the two in step.
BACKUP_DAYS = 90

# Each lawful basis of settings.LEGAL_BASES explained, citing GDPR article 6(1).
LEGAL_BASIS_TEXTS = {
    "public_task": N_(
        "We process your data to carry out a task in the public interest: guidance and"
        " counselling for young people is part of the services the organisation running Koppi"
        " provides under the law (GDPR article 6(1)(e))."
    ),
    "consent": N_(
        "We process your data with your consent: you choose whether to write to us and what to"
        " write, and you can withdraw it at any time by deleting your question with your code"
        " (GDPR article 6(1)(a))."
    ),
    "legitimate_interest": N_(
        "We process your data on the basis of a legitimate interest: the organisation running"
        " Koppi offers young people anonymous guidance, and has weighed that interest against"
        " your privacy (GDPR article 6(1)(f))."
    ),
}


async def notice(request: web.Request) -> web.Response:
    """Retention figures come from the settings the retention sweep reads (moderation/retention
    Policy.from_settings), so the page never disagrees with what is deleted."""
    settings = request.app[keys.SETTINGS]
    return render(
        request,
        "privacy.html",
        {
            "retain_chat_days": settings.retain_chat_days,
            "retain_private_days": settings.retain_private_days,
            "retain_rejected_days": settings.retain_rejected_days,
            "retain_audit_days": settings.retain_audit_days,
            "backup_days": BACKUP_DAYS,
            "controller_name": settings.controller_name,
            "controller_address": settings.controller_address,
            "dpo_contact": settings.dpo_contact,
            "legal_basis": LEGAL_BASIS_TEXTS[settings.legal_basis],
        },
    )


def routes() -> list[web.RouteDef]:
    return [web.get("/privacy", notice, name="privacy")]
