"""Personal-data detection: each kind found with its exact span, near-misses left alone."""

import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import iban as stdnum_iban

from moderation.filters.personal_data import KINDS, LABELS, Finding, find, mask

HETU_CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"
SIGNS = {1800: "+", 1900: "-YXWVU", 2000: "ABCDEF"}
TEMPLATES = [
    "Hei, tunnukseni on {} ja tarvitsen apua",
    "{}",
    "Olen työtön. {}. Mitä teen?",
    "Kela kysyi numeroa {}, kun hain tukea",
    "(tiedot: {})",
    "{} on minun, voiko sen poistaa?",
]
FILLER = st.sampled_from(["", "Moi! ", "Kysyisin vielä: ", "Terveisin nuori. ", "ok\n"])


def kinds(text: str) -> list[tuple[str, str]]:
    return [(f.kind, f.text) for f in find(text)]


def only(text: str, kind: str) -> Finding:
    findings = [f for f in find(text) if f.kind == kind]
    assert len(findings) == 1, findings
    return findings[0]


def test_labels_cover_every_kind() -> None:
    assert set(LABELS) == set(KINDS)


# --- identity codes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    ["131052-308T", "131052A308T", "131052a308t", "010594Y123W", "010101A123N", "010101B123N"],
)
def test_identity_code_found(code: str) -> None:
    text = f"Tunnukseni on {code}."
    finding = only(text, "identity_code")
    assert (finding.start, finding.end) == (14, 14 + len(code))
    assert finding.text == code


@pytest.mark.parametrize(
    "text",
    [
        "131052-308U",  # wrong check character
        "311352-308T",  # no 13th month
        "131052Z308T",  # no such century sign
        "1310520-308T",  # one digit too many
        "131052-308TT",
        "123456-7890",
    ],
)
def test_identity_code_near_misses(text: str) -> None:
    assert "identity_code" not in [f.kind for f in find(text)]


def hetu(day: datetime.date, individual: int, sign: str) -> str:
    digits = f"{day:%d%m%y}{individual:03d}"
    return f"{digits[:6]}{sign}{digits[6:]}{HETU_CHECK[int(digits) % 31]}"


@st.composite
def identity_codes(draw: st.DrawFn) -> str:
    day = draw(st.dates(datetime.date(1900, 1, 1), datetime.date(2023, 12, 31)))
    sign = draw(st.sampled_from(SIGNS[day.year // 100 * 100]))
    return hetu(day, draw(st.integers(2, 899)), sign)


@settings(max_examples=200, deadline=None)
@given(identity_codes(), st.sampled_from(TEMPLATES), FILLER)
def test_generated_identity_codes_found_with_exact_span(
    code: str, template: str, filler: str
) -> None:
    text = filler + template.format(code)
    start = text.index(code)
    assert Finding("identity_code", start, start + len(code), code) in find(text)


@settings(max_examples=200, deadline=None)
@given(identity_codes(), st.sampled_from(TEMPLATES), st.sampled_from(HETU_CHECK))
def test_wrong_check_character_not_an_identity_code(code: str, template: str, check: str) -> None:
    wrong = code[:-1] + check
    if wrong == code:
        return
    assert "identity_code" not in [f.kind for f in find(template.format(wrong))]


# --- phone numbers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number",
    [
        "040 123 4567",
        "040-1234567",
        "0401234567",
        "+358 40 123 4567",
        "09 123 4567",
        "050 1234 567",
        "+46 70 123 45 67",
        "+44 20 7946 0958",
    ],
)
def test_phone_found(number: str) -> None:
    text = f"Soita minulle numeroon {number}, kiitos!"
    finding = only(text, "phone")
    assert finding.text == number
    assert text[finding.start : finding.end] == number


@pytest.mark.parametrize(
    "text",
    [
        "040 123",
        "soita 0401234",
        "vuosina 2019-2023",
        "sain 1 000 000 euroa",
        "12.3.2024 klo 9.30",
        "Postinumero 00100 Helsinki",
    ],
)
def test_phone_near_misses(text: str) -> None:
    assert "phone" not in [f.kind for f in find(text)]


def test_identity_code_not_reported_again_as_phone() -> None:
    assert kinds("tunnus 131052-308T") == [("identity_code", "131052-308T")]


MOBILE_PREFIXES = ["040", "041", "044", "045", "046", "050"]


def mobile_forms(prefix: str, rest: str) -> list[str]:
    return [
        f"{prefix} {rest[:3]} {rest[3:]}",
        f"{prefix}-{rest}",
        f"{prefix}{rest}",
        f"{prefix} {rest}",
        f"+358 {prefix[1:]} {rest[:3]} {rest[3:]}",
        f"+358{prefix[1:]}{rest}",
    ]


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(MOBILE_PREFIXES),
    st.text("0123456789", min_size=7, max_size=7),
    st.integers(0, 5),
    st.sampled_from(TEMPLATES),
)
def test_generated_mobile_numbers_found(prefix: str, rest: str, form: int, template: str) -> None:
    number = mobile_forms(prefix, rest)[form]
    text = template.format(number)
    start = text.index(number)
    assert Finding("phone", start, start + len(number), number) in find(text)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(MOBILE_PREFIXES),
    st.text("0123456789", min_size=0, max_size=4),
    st.sampled_from([0, 1, 2, 3, 5]),
    st.sampled_from(TEMPLATES),
)
def test_mobile_numbers_missing_digits_not_found(
    prefix: str, rest: str, form: int, template: str
) -> None:
    # Seven subscriber digits with three or more dropped leave at most four.
    number = mobile_forms(prefix, rest)[form]
    assert "phone" not in [f.kind for f in find(template.format(number))]


# --- e-mail -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("Laita viestiä matti.meikalainen@example.fi, kiitos", "matti.meikalainen@example.fi"),
        ("<anna+koppi@mail.example.com>", "anna+koppi@mail.example.com"),
        ("sposti: X_Y-9@sub-domain.org.", "X_Y-9@sub-domain.org"),
    ],
)
def test_email_found_and_domain_not_a_url(text: str, address: str) -> None:
    assert kinds(text) == [("email", address)]


@pytest.mark.parametrize("text", ["@nimi instassa", "matti@localhost", "a @ b.fi", "x@y"])
def test_email_near_misses(text: str) -> None:
    assert "email" not in [f.kind for f in find(text)]


# --- IBAN -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "account",
    [
        "FI21 1234 5600 0007 85",
        "FI2112345600000785",
        "DE89 3704 0044 0532 0130 00",
        "GB29 NWBK 6016 1331 9268 19",
        "SE4550000000058398257466",
    ],
)
def test_iban_found(account: str) -> None:
    text = f"Tilinumeroni on {account} ja se on Nordeassa."
    finding = only(text, "iban")
    assert finding.text == account


def test_iban_followed_by_number_or_capitals_is_trimmed() -> None:
    assert kinds("FI21 1234 5600 0007 85 OK") == [("iban", "FI21 1234 5600 0007 85")]


@pytest.mark.parametrize(
    "text",
    ["FI21 1234 5600 0007 86", "FI22 1234 5600 0007 85", "FI21 1234 5600 0007", "FI 21 1234"],
)
def test_iban_near_misses(text: str) -> None:
    assert "iban" not in [f.kind for f in find(text)]


def with_check_digits(country: str, bban: str) -> str:
    return country + stdnum_iban.calc_check_digits(country + "00" + bban) + bban


def group(account: str) -> str:
    return " ".join(account[i : i + 4] for i in range(0, len(account), 4))


@st.composite
def ibans(draw: st.DrawFn) -> str:
    digits = st.text("0123456789", min_size=1, max_size=1)
    country, length = draw(st.sampled_from([("FI", 14), ("DE", 18), ("DK", 14), ("SE", 20)]))
    bban = "".join(draw(digits) for _ in range(length))
    return with_check_digits(country, bban)


@settings(max_examples=200, deadline=None)
@given(ibans(), st.booleans(), st.sampled_from(TEMPLATES))
def test_generated_ibans_found(account: str, grouped: bool, template: str) -> None:
    written = group(account) if grouped else account
    text = template.format(written)
    start = text.index(written)
    assert Finding("iban", start, start + len(written), written) in find(text)


@settings(max_examples=200, deadline=None)
@given(ibans(), st.booleans(), st.data())
def test_one_changed_digit_not_an_iban(account: str, grouped: bool, data: st.DataObject) -> None:
    position = data.draw(st.integers(2, len(account) - 1))
    old = account[position]
    new = data.draw(st.sampled_from([d for d in "0123456789" if d != old]))
    changed = account[:position] + new + account[position + 1 :]
    written = group(changed) if grouped else changed
    assert "iban" not in [f.kind for f in find(f"tili {written} kiitos")]


# --- street addresses -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "Mannerheimintie 12 B 34",
        "Hämeenkatu 5 as. 3",
        "Kauppakatu 3a",
        "Storgatan 4",
        "Hämeenkadulla 5",
        "Pihlajapolku 7 C",
        "Kirkkorinne 2",
        "Drottninggatan 10 lgh 1102",
        "12 Baker Street",
    ],
)
def test_address_found(address: str) -> None:
    text = f"Asun osoitteessa {address}, tule käymään."
    assert kinds(text) == [("address", address)]


@pytest.mark.parametrize(
    "text",
    [
        "kävelin Hämeenkatua",
        "Hämeenkatu on pitkä",
        "tie 3 kertaa",
        "tori 5",
        "kävelin Hämeenkatua 2 km",
        "kadulla 5 ihmistä",
    ],
)
def test_address_near_misses(text: str) -> None:
    assert "address" not in [f.kind for f in find(text)]


def test_address_staircase_letter_does_not_eat_a_word() -> None:
    assert kinds("Hämeenkatu 5 ja muuta") == [("address", "Hämeenkatu 5")]


# --- URLs -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "url"),
    [
        ("katso https://example.com/polku?x=1.", "https://example.com/polku?x=1"),
        ("(http://te-palvelut.fi)", "http://te-palvelut.fi"),
        ("sivu www.koppi.fi/apua!", "www.koppi.fi/apua"),
        ("seuraa instagram.com/nimi; kiitos", "instagram.com/nimi"),
        ("Kela.fi kertoo", "Kela.fi"),
        ("https://fi.wikipedia.org/wiki/Foo_(bar)).", "https://fi.wikipedia.org/wiki/Foo_(bar)"),
    ],
)
def test_url_found_without_trailing_punctuation(text: str, url: str) -> None:
    assert kinds(text) == [("url", url)]


@pytest.mark.parametrize(
    "text", ["esim. tämä", "klo 9.30", "töitä.Se oli", "v. 2024.fi", "tiedosto.pdf", "t.ex. här"]
)
def test_url_near_misses(text: str) -> None:
    assert "url" not in [f.kind for f in find(text)]


# --- merging and masking ----------------------------------------------------------------------


MIXED = (
    "Olen Matti, 131052-308T, puh 040 123 4567, matti@example.fi, tili FI21 1234 5600 0007 85, "
    "osoite Hämeenkatu 5 as. 3, blogi www.matti.fi."
)


def test_mixed_text_sorted_and_non_overlapping() -> None:
    findings = find(MIXED)
    assert [f.kind for f in findings] == [
        "identity_code",
        "phone",
        "email",
        "iban",
        "address",
        "url",
    ]
    assert all(a.end <= b.start for a, b in zip(findings, findings[1:], strict=False))
    assert all(MIXED[f.start : f.end] == f.text for f in findings)


def test_mask_replaces_every_span() -> None:
    masked = mask(MIXED, find(MIXED), lambda f: f"[{f.kind}]")
    assert masked == (
        "Olen Matti, [identity_code], puh [phone], [email], tili [iban], "
        "osoite [address], blogi [url]."
    )


def test_mask_with_no_findings_is_identity() -> None:
    assert mask("ei mitään", [], lambda f: "x") == "ei mitään"


def test_plain_text_has_no_findings() -> None:
    text = "Hei! Olen 19-vuotias ja etsin kesätöitä. Voinko hakea työkokeiluun 1.6. alkaen?"
    assert find(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "Alkaa 01.06.2024 ja loppuu 02.01.2025.",
        "Haastattelu on 05 06 2024 aamulla.",
        "Toimisto on auki klo 09.00-16.00 arkisin.",
        "Vastaanotto 08:30–15:45.",
    ],
)
def test_dates_and_opening_hours_are_not_phone_numbers(text: str) -> None:
    assert find(text) == []


def test_a_street_named_after_a_park_is_an_address() -> None:
    assert [(f.kind, f.text) for f in find("asun Puistotie 2 B 5")] == [
        ("address", "Puistotie 2 B 5")
    ]
