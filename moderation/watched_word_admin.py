"""Coordinators manage the watched words: add, change the action, deactivate, reactivate, delete.

A word is configuration that nothing refers to, so deleting is allowed; the audit row keeps its
phrase. Each change is one transaction with one audit row; it announces `WatchlistChanged`, so
every process of the running service reloads the words it matches against after the commit."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from moderation.errors import Conflict, Forbidden, Invalid, NotFound
from moderation.filters.watched_words import MAX_PHRASE_CHARS, MAX_PHRASE_WORDS, MIN_WORD_LETTERS
from moderation.text import clean
from service.changes import change_kind
from service.clock import Clock, to_iso
from service.i18n import gettext as _
from service.storage import audit
from service.storage import watched_words as words
from service.storage.db import Database, Writer
from service.storage.errors import Duplicate
from service.storage.staff import MANAGING_ROLES, StaffMember

PHRASE_MAX = MAX_PHRASE_CHARS
WORDS_MAX = MAX_PHRASE_WORDS
LETTERS_MIN = MIN_WORD_LETTERS  # in a one-word phrase, and before a trailing *
# A word as the matcher reads text: letters or digits, inner hyphens, optionally ending in *.
_WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*\*?")


@dataclass(frozen=True)
class WatchlistContext:
    """What the watched-word steps need from the running service, passed in by the app."""

    db: Database
    clock: Clock

    def now_iso(self) -> str:
        return to_iso(self.clock())


@change_kind("watchlist")
@dataclass(frozen=True)
class WatchlistChanged:
    """The watched words changed: every process loads them again."""


WATCHLIST_CHANGED = WatchlistChanged()


@dataclass(frozen=True)
class NewWord:
    phrase: str
    lang: str
    action: str


def normalise_phrase(value: str) -> str:
    """NFC, case folded, one space between words: the form phrases are stored and compared in."""
    folded = unicodedata.normalize("NFC", clean(value).casefold())
    return " ".join(folded.split())


def _phrase_problem(phrase: str) -> str | None:
    """Why a normalised phrase cannot be watched for, or None when it can.

    Short words are allowed inside a phrase ("want to die", "vill dö"); a phrase of one word,
    or a word ending in *, needs three letters."""
    parts = phrase.split(" ")
    if len(parts) > WORDS_MAX:
        return _("Use at most %(n)d words.") % {"n": WORDS_MAX}
    for part in parts:
        if not _WORD.fullmatch(part):
            return _(
                "Use letters and digits only, with a * only at the end of a word"
                " (a hyphen may join two parts of a word)."
            )
        letters = sum(c.isalpha() for c in part)
        if (len(parts) == 1 or part.endswith("*")) and letters < LETTERS_MIN:
            return _("A single word, or a word ending in *, needs at least %(n)d letters.") % {
                "n": LETTERS_MIN
            }
    return None


def _require_manager(acting: StaffMember) -> None:
    if acting.role not in MANAGING_ROLES:
        raise Forbidden(_("Only coordinators manage the watched words."))


def parse_phrase(value: object) -> str:
    if not isinstance(value, str):
        raise Invalid(_("This field must be text."), field="phrase")
    phrase = normalise_phrase(value)
    if not phrase:
        raise Invalid(_("This field is required."), field="phrase")
    if len(phrase) > PHRASE_MAX:
        raise Invalid(
            _("Write at most %(n)d characters (now %(len)d).")
            % {"n": PHRASE_MAX, "len": len(phrase)},
            field="phrase",
        )
    problem = _phrase_problem(phrase)
    if problem is not None:
        raise Invalid(problem, field="phrase")
    return phrase


def parse_lang(value: object) -> str:
    if not isinstance(value, str) or value not in words.LANGS:
        raise Invalid(_("Choose Finnish, Swedish or English."), field="lang")
    return value


def parse_action(value: object) -> str:
    if not isinstance(value, str) or value not in words.ACTIONS:
        raise Invalid(_("Choose block, review or crisis."), field="action")
    return value


def parse_word(data: dict[str, str]) -> NewWord:
    """The add form's fields, each refusal naming its field, in the order the form shows them."""
    return NewWord(
        phrase=parse_phrase(data.get("phrase")),
        lang=parse_lang(data.get("lang")),
        action=parse_action(data.get("action")),
    )


async def _audit(
    ctx: WatchlistContext,
    tx: Writer,
    acting: StaffMember,
    action: str,
    word: words.Word,
    **extra: str,
) -> None:
    """The phrase is coordinators' configuration, not anyone's message, so the row may name it."""
    await audit.append(
        tx,
        at=ctx.now_iso(),
        staff_id=acting.id,
        action=action,
        target_type="watched_word",
        target_id=word.id,
        detail={"phrase": word.phrase, "lang": word.lang, "action": word.action, **extra},
    )


async def _existing(tx: Writer, word_id: int) -> words.Word:
    word = await words.by_id(tx, word_id)
    if word is None:
        raise NotFound(_("No such watched word."))
    return word


async def do_add_word(
    ctx: WatchlistContext, data: dict[str, str], *, acting_staff: StaffMember
) -> int:
    _require_manager(acting_staff)
    new = parse_word(data)
    taken = Conflict(_("This phrase is already watched for in that language."), field="phrase")
    try:
        async with ctx.db.transaction() as tx:
            if await words.phrase_taken(tx, new.lang, new.phrase):
                raise taken
            word_id = await words.insert(
                tx, phrase=new.phrase, lang=new.lang, action=new.action, at=ctx.now_iso()
            )
            word = words.Word(word_id, new.phrase, new.lang, new.action)
            await _audit(ctx, tx, acting_staff, "watched_word_add", word)
            tx.announce(WATCHLIST_CHANGED)
    except Duplicate:  # added by someone else in the meantime
        raise taken from None
    return word_id


async def do_change_word(
    ctx: WatchlistContext, word_id: int, data: dict[str, str], *, acting_staff: StaffMember
) -> None:
    """A new action for a word; the phrase and language stay (delete and add to change them)."""
    _require_manager(acting_staff)
    action = parse_action(data.get("action"))
    async with ctx.db.transaction() as tx:
        word = await _existing(tx, word_id)
        await words.set_action(tx, word_id, action)
        changed = words.Word(word.id, word.phrase, word.lang, action, word.active)
        await _audit(ctx, tx, acting_staff, "watched_word_action", changed, previous=word.action)
        tx.announce(WATCHLIST_CHANGED)


async def do_set_word_active(
    ctx: WatchlistContext, word_id: int, active: bool, *, acting_staff: StaffMember
) -> None:
    _require_manager(acting_staff)
    async with ctx.db.transaction() as tx:
        word = await _existing(tx, word_id)
        await words.set_active(tx, word_id, active)
        action = "watched_word_reactivate" if active else "watched_word_deactivate"
        await _audit(ctx, tx, acting_staff, action, word)
        tx.announce(WATCHLIST_CHANGED)


async def do_delete_word(ctx: WatchlistContext, word_id: int, *, acting_staff: StaffMember) -> None:
    _require_manager(acting_staff)
    async with ctx.db.transaction() as tx:
        word = await _existing(tx, word_id)
        await words.delete(tx, word_id)
        await _audit(ctx, tx, acting_staff, "watched_word_delete", word)
        tx.announce(WATCHLIST_CHANGED)
