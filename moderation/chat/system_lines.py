"""Lines the service itself writes into a conversation (sender "system"), in the visitor's
language: stored and delivered like any message, so both sides and every replay see them."""

from __future__ import annotations

from service import i18n
from service.i18n import N_
from service.labels import role_label
from service.storage import chat_messages
from service.storage.chat_messages import Stored
from service.storage.db import Row, Writer

# A role name in the nominative, so that no first name or role has to be inflected: Finnish
# would need the allative of any first name ("Mikolle"), which cannot be made reliably.
TO_COLLEAGUE = N_("The chat was transferred: %(role)s %(name)s continues.")
TO_QUEUE = N_("The chat was transferred to the queue: the next free %(role)s continues.")


def _in_sentence(label: str) -> str:
    """A role label as it reads inside a sentence: "Työllisyysneuvoja" → "työllisyysneuvoja"
    (an acronym such as "FPA-…" keeps its capitals)."""
    return label[:1].lower() + label[1:] if label[1:2].islower() else label


def transfer_text(lang: str | None, *, role: str, name: str | None) -> str:
    """To a colleague (`name`, whose role is `role`), or back to the queue for `role`."""
    with i18n.speaking(lang):
        shown = _in_sentence(role_label(role))
        if name is None:
            return i18n.gettext(TO_QUEUE) % {"role": shown}
        return i18n.gettext(TO_COLLEAGUE) % {"role": shown, "name": name}


async def write(tx: Writer, chat: Row, text: str, at: str) -> Stored:
    """Store the line in the chat's transaction; the caller delivers it after the commit to
    the visitor and to whoever holds the chat then."""
    message_id = await chat_messages.insert_system(tx, chat["id"], text, at)
    return Stored(message_id, chat["id"], "system", text, at, None, visitor_id=chat["visitor_id"])
