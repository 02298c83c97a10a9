"""What an anonymous visitor does in the chat: start, end, rate, or turn it into a question."""

from __future__ import annotations

from dataclasses import dataclass

from moderation import intake
from moderation.chat.assignment import assign_waiting
from moderation.chat.context import ChatChange, ChatContext
from moderation.chat.queue_view import open_now
from moderation.chat.staff_actions import end_chat
from moderation.errors import (
    Blocked,
    Closed,
    Conflict,
    Invalid,
    NotFound,
    RateLimited,
)
from moderation.screening import Screening, admit
from moderation.text import QUESTION_MAX, QUESTION_MIN, require_int, require_text
from service.i18n import N_
from service.i18n import gettext as _
from service.storage import categories, chat_messages, chats, events, processes, visitors
from service.storage.db import Row, Writer

MESSAGE_MAX = 2000
CLIENT_ID_MAX = 64
# A start refused because enough chats from the same address are waiting: worth another try
# soon, since the queue moves on every assignment and every ending.
WAITING_RETRY_S = 30


@dataclass(frozen=True)
class Started:
    chat_id: int
    message_id: int
    visitor_id: int
    # A crisis word in the first message: the visitor sees crisis help, staff an urgent chat.
    crisis: bool = False
    # The languages of those crisis words, for the help's note (Screening.crisis_languages).
    crisis_langs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Ended:
    chat_id: int
    # The visitor left before any staff member took the chat: the start is given back to the
    # address's limit. (A chat taken costs a counsellor's time, so its start stays counted.)
    untaken: bool


class QueueFull(RateLimited):
    """Enough chats from this client address wait already; not counted as a start. `crisis`:
    the refused first message had a crisis word, so the refusal brings crisis help."""

    def __init__(self, message: str, *, retry_after: int, crisis: bool = False) -> None:
        super().__init__(message, retry_after=retry_after)
        self.crisis = crisis


BLOCKED = N_("Your message contains words that are not accepted here. Please write it again.")


def screen(ctx: ChatContext, text: str, *, personal_ok: object) -> Screening:
    """The message's screening, or the refusal of a block word or of unconfirmed personal
    details (moderation/screening.admit)."""
    return admit(
        ctx.watch.screen(text),
        personal_ok=personal_ok,
        field="text",
        blocked=BLOCKED,
    )


async def mark_urgent(ctx: ChatContext, chat_id: int) -> None:
    """A crisis word in a later message: the chat goes first in the queue and on staff lists."""
    async with ctx.db.transaction() as tx:
        changed = await chats.mark_urgent(tx, chat_id)
        if changed is not None:
            staff = () if changed["assigned_to"] is None else (changed["assigned_to"],)
            tx.announce(ChatChange(staff=staff))


def message_text(value: object) -> str:
    return require_text(value, "text", minimum=1, maximum=MESSAGE_MAX)


def client_id(value: object) -> str:
    """The sender's own id for a message, which makes a resend harmless."""
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= CLIENT_ID_MAX
        or not value.isprintable()
    ):
        raise Invalid(
            _("Give each message an id of 1–%(n)d characters.") % {"n": CLIENT_ID_MAX},
            field="client_id",
        )
    return value


async def _refuse_if_blocked(ctx: ChatContext, tx: Writer, visitor_id: int) -> None:
    until = await visitors.blocked_until(tx, visitor_id)
    if until is not None and until > ctx.now_iso():
        raise Blocked(_("This chat has been blocked for a while."), until=until)


async def start(
    ctx: ChatContext,
    token_hash: str,
    *,
    category: object,
    text: object,
    client: object,
    personal_ok: object = False,
    address_key: str | None = None,
    max_waiting: int | None = None,
    lang: str | None = None,
) -> Started:
    """Open a chat with its first message; a resend with the same client id changes nothing.

    The message is screened before anything is stored: a block word or unconfirmed personal
    details refuse it, a crisis word makes the chat urgent. With `max_waiting`, a start from an
    address (`address_key`, its keyed hash) that has that many chats waiting is refused as
    `QueueFull`, decided in the same transaction as the insert. A first message with a crisis
    word may pass the cap by one: a young person in crisis is not sent away because others on
    the same network wait, yet a flood of crisis words cannot fill the front of the queue.
    `lang`, the page's language, is kept with the chat for the lines the service writes in it."""
    first = message_text(text)
    start_id = client_id(client)
    found = await categories.by_slug(ctx.db, category) if isinstance(category, str) else None
    if found is None:
        raise Invalid(_("Choose a topic from the list."), field="category")
    now = ctx.now_iso()
    async with ctx.db.transaction() as tx:
        visitor_id = await visitors.ensure(tx, token_hash, now)
        await _refuse_if_blocked(ctx, tx, visitor_id)
        earlier = await chats.by_start(tx, visitor_id, start_id)
        if earlier is not None:
            urgent = bool(earlier["urgent"])
            return Started(
                earlier["id"],
                await chat_messages.first_id(tx, earlier["id"]),
                visitor_id,
                urgent,
                ctx.watch.screen(first).crisis_languages if urgent else (),
            )
        current = await chats.newest_for_visitor(tx, visitor_id)
        if current is not None and current["status"] in chats.OPEN:
            raise Invalid(_("You already have a chat open."), field="client_id")
        screening = screen(ctx, first, personal_ok=personal_ok)
        crisis = screening.crisis
        is_open = await open_now(ctx, tx)
        waiting_key = address_key if max_waiting is not None else None
        if is_open and waiting_key is not None and max_waiting is not None:
            await _refuse_if_queue_full(tx, waiting_key, max_waiting, crisis=crisis)
        chat_id = message_id = 0
        if is_open:
            chat_id = await chats.insert(
                tx,
                visitor_id=visitor_id,
                category_id=found.id,
                client_id=start_id,
                at=now,
                urgent=crisis,
                waiting_key=waiting_key,
                lang=lang,
            )
            message_id = await chat_messages.insert_first(tx, chat_id, first, now, start_id)
        # A closed attempt counts for the statistics too; nothing the visitor wrote is kept.
        await events.record(
            tx,
            events.CHAT_REQUESTED,
            at=now,
            category=found.slug,
            channel="chat",
            subject_id=chat_id or None,
            detail={"open": is_open, **({"urgent": True} if crisis and is_open else {})},
        )
        if is_open:
            tx.announce(ChatChange(chats=(chat_id, *await assign_waiting(ctx, tx))))
    if not is_open:
        raise Closed(_("The chat is closed right now."))
    return Started(chat_id, message_id, visitor_id, crisis, screening.crisis_languages)


async def _refuse_if_queue_full(
    tx: Writer, waiting_key: str, max_waiting: int, *, crisis: bool
) -> None:
    if await chats.waiting_from(tx, waiting_key) >= max_waiting + (1 if crisis else 0):
        raise QueueFull(
            _(
                "Several people on this connection are already waiting for a chat. Please try "
                "again in half a minute: everyone gets their turn."
            ),
            retry_after=WAITING_RETRY_S,
            crisis=crisis,
        )


async def _newest(tx: Writer, visitor_id: int | None) -> Row:
    chat = None if visitor_id is None else await chats.newest_for_visitor(tx, visitor_id)
    if chat is None:
        raise NotFound(_("You have no chat."))
    return chat


async def end(ctx: ChatContext, visitor_id: int | None) -> Ended | None:
    """The visitor leaves; ending twice is harmless (and returns None)."""
    async with ctx.db.transaction() as tx:
        chat = await _newest(tx, visitor_id)
        if chat["status"] not in chats.OPEN:
            return None
        await end_chat(ctx, tx, chat, by="visitor")
        assigned = await assign_waiting(ctx, tx)
        tx.announce(ChatChange(chats=(chat["id"], *assigned), ended=(chat["id"],)))
    return Ended(chat["id"], untaken=chat["first_assigned_at"] is None)


async def rate(ctx: ChatContext, visitor_id: int | None, *, score: object, helped: object) -> None:
    stars = None
    if score is not None:
        stars = require_int(
            score, "score", minimum=1, maximum=5, message=_("Give a score from 1 to 5.")
        )
    if helped is not None and not isinstance(helped, bool):
        raise Invalid(_("Answer yes or no."), field="helped")
    if stars is None and helped is None:
        raise Invalid(_("Give a score or say whether this helped."), field="score")
    async with ctx.db.transaction() as tx:
        chat = await _newest(tx, visitor_id)
        if chat["status"] != "ended":
            raise Conflict(_("You can rate the chat after it has ended."))
        if not await chats.rate(tx, chat["id"], score=stars, helped=helped, at=ctx.now_iso()):
            raise Conflict(_("You have already rated this chat."))
        await events.record(
            tx,
            events.CHAT_RATED,
            at=ctx.now_iso(),
            category=chat["category_slug"],
            channel="chat",
            subject_id=chat["id"],
            detail={"score": stars, "helped": helped},
        )


async def convert(ctx: ChatContext, visitor_id: int | None) -> intake.Submitted:
    """Turn the visitor's words into a private question on the board's queue and end the chat."""
    async with ctx.db.transaction() as tx:
        chat = await _newest(tx, visitor_id)
        if chat["status"] not in chats.OPEN:
            raise Conflict(_("This chat has ended."))
        body = "\n\n".join(await chat_messages.visitor_texts(tx, chat["id"]))[:QUESTION_MAX]
        if len(body) < QUESTION_MIN:
            raise Invalid(_("Write at least %(n)d characters.") % {"n": QUESTION_MIN}, field="text")
        draft = intake.QuestionDraft(
            body, None, chat["category_id"], chat["category_slug"], publish_allowed=False
        )
        submitted = await intake.store(tx, draft, at=ctx.now_iso(), detail={"from_chat": True})
        # Counted as converted, not abandoned: the visitor took the offer of a question.
        await end_chat(ctx, tx, chat, by="visitor", kind=events.CHAT_CONVERTED)
        await chats.wrap_up(tx, chat["id"], category=chat["category_slug"], outcome="question")
        await chats.link_question(tx, chat["id"], submitted.question_id)
        assigned = await assign_waiting(ctx, tx)
        tx.announce(ChatChange(chats=(chat["id"], *assigned), ended=(chat["id"],), questions=True))
    return submitted


async def visitor_presence(
    ctx: ChatContext, visitor_id: int, *, here: bool, lang: str | None = None
) -> None:
    """Record that the visitor's first socket on this process opened (on a page in `lang`), or
    its last one here closed; they are away when no process holds a socket of theirs. Their
    staff hear of it. A waiting chat leaves the line while they are away (chats.waiting) and
    rejoins it in its old place when they come back, when it may be assigned at once."""
    async with ctx.db.transaction() as tx:
        if here:
            await processes.opened(tx, ctx.process, processes.VISITOR, visitor_id)
        elif not await processes.closed(tx, ctx.process, processes.VISITOR, visitor_id):
            return  # still connected through another process
        away = None if here else ctx.now_iso()
        found = await chats.visitor_away(tx, visitor_id, away, lang=lang)
        staff = tuple(dict.fromkeys(r["assigned_to"] for r in found if r["assigned_to"]))
        if any(r["status"] == "waiting" for r in found):
            assigned = await assign_waiting(ctx, tx) if here else []
            tx.announce(ChatChange(chats=tuple(assigned), staff=staff))
        elif staff:
            tx.announce(ChatChange(staff=staff, queue=False))
