"""Finds personal data (identity codes, phones, e-mail, IBANs, addresses, URLs) in free text."""

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import phonenumbers
from phonenumbers import Leniency
from stdnum import iban as _iban
from stdnum.fi import hetu as _hetu

from service.i18n import N_

KINDS = ("identity_code", "phone", "email", "iban", "address", "url")

LABELS: dict[str, str] = {
    "identity_code": N_("a personal identity code"),
    "phone": N_("a phone number"),
    "email": N_("an e-mail address"),
    "iban": N_("a bank account number (IBAN)"),
    "address": N_("a street address"),
    "url": N_("a web address"),
}

# When spans overlap the earlier kind wins: a checksummed code is surer than a digit run that
# libphonenumber also accepts, and an e-mail's domain is no separate web address.
_PRIORITY = ("identity_code", "iban", "email", "url", "phone", "address")


@dataclass(frozen=True)
class Finding:
    """One piece of personal data: its kind and where it sits in the text."""

    kind: str
    start: int
    end: int
    text: str


# What each detector's pattern cannot match without, so a chat message that lacks it (most hold
# no digit, no "@" and no web address) skips that detector and gets exactly the same findings.
# Digits are counted as the patterns' \d counts them: every Unicode decimal digit, full-width too.
_DIGIT = re.compile(r"\d")
_IDENTITY_CODE_DIGITS = 9  # six for the date, three for the individual number
_IBAN_DIGITS = 2  # the check digits
# An address's house number has white space before it (Finnish and Swedish: "Hämeenkatu 5") or
# after it (English: "5 Baker Street").
_ADDRESS_HINT = re.compile(r"\d(?:(?=\s)|(?<=\s.))")
# Every web address the URL pattern matches holds one of these, with the same flags: "://" in
# "https?://", "www." in itself, and a bare domain's ".fi" (and so on) before a non-word.
_URL_HINT = re.compile(r"://|www\.|\.(?:fi|com|net|org|se|eu|io)(?![\w-])", re.IGNORECASE)


def find(text: str) -> list[Finding]:
    """Every personal-data finding in text, sorted by start and never overlapping; a detector
    runs only when the text holds what its pattern needs, which is the same as _find_all."""
    digits = len(_DIGIT.findall(text))
    codes = [
        *(_identity_codes(text) if digits >= _IDENTITY_CODE_DIGITS else ()),
        *(_ibans(text) if digits >= _IBAN_DIGITS else ()),
    ]
    candidates = [
        *codes,
        *(_emails(text) if "@" in text else ()),
        *(_urls(text) if _URL_HINT.search(text) else ()),
        # A phone needs _MIN_NATIONAL_DIGITS in one run of digits and number punctuation.
        *(_phones(text, codes) if digits >= _MIN_NATIONAL_DIGITS else ()),
        *(_addresses(text) if digits and _ADDRESS_HINT.search(text) else ()),
    ]
    return _resolve(candidates)


def _find_all(text: str) -> list[Finding]:
    """find() with every detector run on every text: the reference the shortcuts are tested by."""
    codes = [*_identity_codes(text), *_ibans(text)]
    candidates = [
        *codes,
        *_emails(text),
        *_urls(text),
        *_phones(text, codes),
        *_addresses(text),
    ]
    return _resolve(candidates)


def _resolve(candidates: list[Finding]) -> list[Finding]:
    """The candidates that survive overlaps, by kind priority, sorted by start."""
    if not candidates:
        return []
    candidates.sort(key=lambda f: (_PRIORITY.index(f.kind), f.start, -f.end))
    kept: list[Finding] = []
    for candidate in candidates:
        if all(candidate.end <= k.start or candidate.start >= k.end for k in kept):
            kept.append(candidate)
    return sorted(kept, key=lambda f: f.start)


def mask(text: str, findings: Sequence[Finding], replacement: Callable[[Finding], str]) -> str:
    """Text with each finding's span replaced; right to left so earlier spans stay valid."""
    for finding in sorted(findings, key=lambda f: f.start, reverse=True):
        text = text[: finding.start] + replacement(finding) + text[finding.end :]
    return text


def _finding(kind: str, text: str, start: int, end: int) -> Finding:
    return Finding(kind, start, end, text[start:end])


# Century signs: + 1800s, - and Y X W V U 1900s, A and B C D E F 2000s (the 2023 reform).
_HETU = re.compile(r"(?<![\w+-])\d{6}[-+ABCDEFYXWVU]\d{3}[0-9A-Y](?![\w-])", re.IGNORECASE)


def _identity_codes(text: str) -> Iterator[Finding]:
    for m in _HETU.finditer(text):
        # stdnum checks the date and the check character, so a typo is not flagged as a code.
        if _hetu.is_valid(m.group().upper()):
            yield _finding("identity_code", text, m.start(), m.end())


# Country code, check digits, then 11-30 BBAN characters, optionally grouped by spaces. The BBAN
# is uppercase only so a lowercase word after the number is never swallowed.
_IBAN = re.compile(r"(?<![\w])[A-Za-z]{2}\d{2}(?: ?[A-Z0-9]){11,32}")


def _ibans(text: str) -> Iterator[Finding]:
    for m in _IBAN.finditer(text):
        # The greedy match may run into a following number or capitalised word, so the longest
        # prefix ending at a word boundary that passes the mod-97 check is the IBAN.
        for end in range(m.end(), m.start() + 14, -1):
            if end < len(text) and text[end].isalnum():
                continue
            candidate = text[m.start() : end]
            if candidate.endswith(" "):
                continue
            if _iban.is_valid(candidate):
                yield _finding("iban", text, m.start(), end)
                break


_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_]{2,}(?![\w-])"
)


def _emails(text: str) -> Iterator[Finding]:
    for m in _EMAIL.finditer(text):
        yield _finding("email", text, m.start(), m.end())


_TRAILING = ".,;:!?)]}'\""
_URL = re.compile(
    r"(?:https?://|www\.)[^\s<>\"]+"
    # Labels are "[^\W_][\w-]*" rather than the stricter no-trailing-hyphen form, whose nested
    # repetition backtracks quadratically over every word of a long text.
    r"|(?<![\w@.-])(?:[^\W_][\w-]*\.)+(?:fi|com|net|org|se|eu|io)(?![\w-])"
    r"(?:/[^\s<>\"]*)?",
    re.IGNORECASE,
)
_BARE_TLD = re.compile(r"\.(?:fi|com|net|org|se|eu|io)(?![\w-])")


def _urls(text: str) -> Iterator[Finding]:
    for m in _URL.finditer(text):
        url = m.group()
        if not url.lower().startswith(("http://", "https://", "www.")):
            host = url.split("/", 1)[0]
            tld = _BARE_TLD.search(host)
            # "v. 2024.fi" is a year, and a capital TLD ("töitä.Se") is a missing space.
            if tld is None or tld.group() != tld.group().lower():
                continue
            if not any(c.isalpha() for c in host[: tld.start()]):
                continue
        end = m.end()
        while end > m.start() and text[end - 1] in _TRAILING:
            # A closing bracket belongs to the URL when the URL opened it (Wikipedia links).
            if text[end - 1] == ")" and text[m.start() : end].count("(") >= text[
                m.start() : end
            ].count(")"):
                break
            end -= 1
        if end - m.start() > 4:
            yield _finding("url", text, m.start(), end)


# Shorter national numbers are valid to libphonenumber (old six-digit mobiles, short landlines)
# but in free text they are mostly amounts, years and truncated numbers.
_MIN_NATIONAL_DIGITS = 7
# Runs of digits and number punctuation holding at least seven digits: the only places a phone
# number can be. The matcher is slow on long prose, so it reads just these runs.
_PHONE_RUN = re.compile(r"\+?[\d(][\d\s().\-/]*\d")
# libphonenumber takes leading-zero dates and opening hours for Finnish landlines; young people
# write them far more often than a number in that shape ("01.06.2024", "klo 09.00-16.00").
_DATE_OR_HOURS = re.compile(
    r"\d{1,2}[.\s]\d{1,2}[.\s](?:19|20)?\d{2}"
    r"|\d{1,2}[.:]\d{2}\s?[-–]\s?\d{1,2}[.:]\d{2}"
)


def _phones(text: str, taken: Sequence[Finding] = ()) -> Iterator[Finding]:
    # Identity codes and IBANs are blanked first so their digits cannot become a phone number.
    blanked = mask(text, taken, lambda f: " " * (f.end - f.start))
    for run in _PHONE_RUN.finditer(blanked):
        if sum(c.isdigit() for c in run.group()) < _MIN_NATIONAL_DIGITS:
            continue
        # One character either side lets the matcher refuse numbers glued to letters.
        offset = max(run.start() - 1, 0)
        window = blanked[offset : run.end() + 1]
        for m in phonenumbers.PhoneNumberMatcher(window, "FI", leniency=Leniency.VALID):
            if len(phonenumbers.national_significant_number(m.number)) < _MIN_NATIONAL_DIGITS:
                continue
            if _DATE_OR_HOURS.fullmatch(m.raw_string.strip()):
                continue
            yield _finding("phone", text, offset + m.start, offset + m.end)


# Street-name endings, and the locative and genitive forms in which Finns say where they live
# ("asun Hämeenkadulla 5"). Partitives (Hämeenkatua) are left out: "kävelin katua 2 km" is common.
_STREET_END = (
    r"katu|kadu(?:lla|lle|lta|n)"
    r"|tie|tie(?:llä|lle|ltä|n)"
    r"|kuja|kuja(?:lla|lle|lta|n)"
    r"|polku|polu(?:lla|lle|lta|n)"
    r"|väylä|väylä(?:llä|lle|ltä|n)"
    r"|rinne|rintee(?:llä|lle|ltä|n)"
    r"|ranta|ranna(?:lla|lle|lta|ssa|sta|n)"
    r"|puisto|puisto(?:lla|lle|lta|ssa|sta|n)"
    r"|kaari|kaare(?:lla|lle|lta|n)"
    r"|tori|tori(?:lla|lle|lta|n)"
    r"|aukio|aukio(?:lla|lle|lta|n)"
    r"|portti|porti(?:lla|lle|lta|n)"
    r"|mäki|mäe(?:llä|lle|ltä|n)"
    r"|raitti|raiti(?:lla|lle|lta|n)"
    r"|gatan|vägen|gränd|stigen"
)
# House number, optional staircase letter and flat ("12 B 34", "3a", "5 as. 3", "4 lgh 1102").
_HOUSE = (
    r"\d{1,4}(?:-\d{1,4})?(?:\s?[A-Za-z](?![\w])(?:\s?\d{1,4}(?![\d]))?)?"
    r"(?:,?\s*(?:as|asunto|lh|lgh|bst)\.?\s*\d{1,4})?(?!\d)"
)
# Most words are not followed by a number, so those that are get the suffix test, not every word.
_WORD_BEFORE_NUMBER = re.compile(r"(?<![\w-])[^\W\d_]+(?:-[^\W\d_]+)*\s+(?=\d)")
_STREET_SUFFIX = re.compile(rf"(?:{_STREET_END})\s+$", re.IGNORECASE)
_HOUSE_NUMBER = re.compile(_HOUSE)
_ENGLISH_ADDRESS = re.compile(
    r"(?<![\w-])\d{1,4}\s+(?:[A-Z][a-z]+\s){1,2}(?:Street|Road|Avenue|Lane|St\.|Rd\.)"
)


def _addresses(text: str) -> Iterator[Finding]:
    for m in _WORD_BEFORE_NUMBER.finditer(text):
        suffix = _STREET_SUFFIX.search(m.group())
        # Two letters before the ending at least: the bare words "tie 3" or "tori 5" are no address.
        if suffix is None or suffix.start() < 2:
            continue
        house = _HOUSE_NUMBER.match(text, m.end())
        if house is not None:
            yield _finding("address", text, m.start(), house.end())
    for m in _ENGLISH_ADDRESS.finditer(text):
        yield _finding("address", text, m.start(), m.end())
