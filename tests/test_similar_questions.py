"""Similar answered questions while asking: GET /api/questions/similar on both engines."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from yarl import URL

from service.app import create_app
from service.http import api
from service.http.openapi import spec
from service.settings import DEFAULT_LIMITS, Limit, Settings
from service.storage import search
from tests.conftest import FakeClock, ask

StaffClient = Callable[..., Awaitable[TestClient]]
ClientFactory = Callable[..., Awaitable[TestClient]]
SIMILAR = "/api/questions/similar"


async def publish(
    client: TestClient,
    staff: TestClient,
    body: str,
    *,
    title: str | None = None,
    category: str = "raha",
    answer: str = "Hyvä kysymys. Ota yhteyttä Kelaan ja kysy neuvoa Ohjaamosta.",
    public: bool = True,
) -> int:
    created = await ask(client, body=body, title=title, category=category)
    response = await staff.post(
        f"/api/staff/questions/{created['id']}/answer", json={"body": answer, "publish": public}
    )
    assert response.status == 200, await response.text()
    return int(created["id"])


async def similar(client: TestClient, text: str, **query: str) -> list[dict[str, Any]]:
    response = await client.get(SIMILAR, params={"text": text, **query})
    assert response.status == 200, await response.text()
    assert response.headers["Cache-Control"] == "no-store"
    found: list[dict[str, Any]] = await response.json()
    return found


@pytest.fixture
async def adviser(staff_client: StaffClient) -> TestClient:
    return await staff_client("mikko", "adviser", "Mikko")


@pytest.fixture
async def board(client: TestClient, adviser: TestClient) -> None:
    """Other answered questions first: a word found in one question of three is a common word,
    one of fifteen a telling one, as on a board in use."""
    for n in range(12):
        await publish(client, adviser, f"Kysymys numero {n} kesätyöstä, kahvilasta ja kassasta.")


@pytest.mark.usefixtures("board")
async def test_inflected_finnish_forms_find_the_question(
    client: TestClient, adviser: TestClient
) -> None:
    unemployment = await publish(
        client,
        adviser,
        "Miten työttömyysturva toimii, kun valmistun ammattikoulusta keväällä?",
        title="Työttömyysturva valmistumisen jälkeen",
        answer="Työttömyysturvaa haetaan Kelasta, kun olet ilmoittautunut työnhakijaksi.",
    )
    housing = await publish(
        client,
        adviser,
        "Riittääkö asumistuki vuokraan, jos muutan yksin kaupunkiin?",
        category="asuminen",
    )
    await publish(client, adviser, "Kesätyöpaikan hakeminen jännittää aivan hirveästi.")
    found = await similar(client, "Saanko työttömyysturvasta rahaa, jos muutan kotoa pois?")
    assert found[0]["id"] == unemployment
    first = found[0]
    assert first["title"] == "Työttömyysturva valmistumisen jälkeen"
    assert first["excerpt"].startswith("Miten työttömyysturva toimii")
    assert first["answer"].startswith("Työttömyysturvaa haetaan Kelasta")
    assert first["url"] == f"/q/{unemployment}" and first["category"] == "raha"
    assert first["category_name"] == "Raha ja etuudet"
    # Consonant gradation and a part of a compound: asumistuesta -> asumistuki.
    assert [q["id"] for q in await similar(client, "Paljonko asumistuesta jää?")] == [housing]
    assert (await similar(client, "Saanko asumistukea?", lang="sv"))[0]["category_name"] == (
        "Boende"
    )


@pytest.mark.usefixtures("board")
async def test_only_published_questions_are_offered(
    client: TestClient, adviser: TestClient
) -> None:
    text = "Oppisopimuskoulutus sähköalalle kiinnostaa kovasti"
    waiting = await ask(client, body=text + ", mutta en tiedä miten aloittaa.")
    private = await publish(client, adviser, text + " ja haluan tietää palkasta.", public=False)
    published = await publish(client, adviser, text + " ja mietin opintotukea.")
    found = [q["id"] for q in await similar(client, "oppisopimuskoulutus sähköalalle")]
    assert found == [published]
    assert waiting["id"] not in found and private not in found


@pytest.mark.usefixtures("board")
async def test_at_most_three_and_the_best_match_first(
    client: TestClient, adviser: TestClient, clock: FakeClock
) -> None:
    async def published(body: str) -> int:
        clock.advance(minutes=5)
        return await publish(client, adviser, body)

    best = await published("Palkkatuki, työkokeilu ja työpaja: mikä sopii minulle?")
    two = [
        await published(f"Palkkatuki vai työkokeilu, mietin tätä jo {n}. kertaa.") for n in (1, 2)
    ]
    one = await published("Onko työpaja hyvä tapa aloittaa ura?")
    found = await similar(client, "Voisiko palkkatuesta, työkokeilusta tai työpajasta olla apua?")
    assert len(found) == 3
    # All three words first, though oldest; then two of them, the newer first; the question
    # with one of the words, although the newest, comes after.
    assert [q["id"] for q in found] == [best, two[1], two[0]]
    assert one not in [q["id"] for q in found]


@pytest.mark.usefixtures("board")
async def test_a_common_word_is_read_from_its_newest_matches_only(
    client: TestClient, adviser: TestClient, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The window that keeps a common word cheap: its older matches are not read, and a rare
    word still finds an old question."""
    monkeypatch.setattr(search, "SIMILAR_WINDOW", 2)
    clock.advance(minutes=5)
    old = await publish(client, adviser, "Kela vei tuen ja nyt uhkaa ulosotto, mitä teen?")
    common = []
    for n in range(5):
        clock.advance(minutes=5)
        common.append(await publish(client, adviser, f"Kela ei vastaa puhelimeen jo {n} viikkoon."))
    assert [q["id"] for q in await similar(client, "kela")] == [common[4], common[3]]
    found = await similar(client, "Kela ja ulosotto pelottavat")
    assert [q["id"] for q in found][0] == old


@pytest.mark.parametrize(
    "text",
    ["", "   \n\t ", "ab", "ja on se", "Hei, olen ja en", "123 4567 89", "?!… -- ()", "😀🙂"],
)
async def test_nothing_worth_searching_is_an_empty_list_without_the_database(
    client: TestClient, adviser: TestClient, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    await publish(client, adviser, "Ja on se niin, että 123 hei ab kysymys on tässä.")

    async def not_asked(*args: object, **kwargs: object) -> list[Any]:
        raise AssertionError("the database was asked")

    monkeypatch.setattr(search, "similar_published", not_asked)
    assert await similar(client, text) == []
    response = await client.get(SIMILAR)  # no text at all
    assert response.status == 200 and await response.json() == []


async def test_a_text_longer_than_the_limit_is_refused_naming_text(client: TestClient) -> None:
    too_long = await client.get(SIMILAR, params={"text": "työttömyysturva " * 31 + "abcde"})
    assert too_long.status == 400
    body = await too_long.json()
    assert set(body["errors"]) == {"text"} and "500" in body["errors"]["text"]
    assert await similar(client, "a" * search.SIMILAR_MAX_TEXT) == []
    assert isinstance(await similar(client, "työttömyysturva " * 31 + "abcd"), list)
    # The longest text allowed fits in the address, whatever its characters.
    assert await similar(client, "\U0001f642" * search.SIMILAR_MAX_TEXT) == []


JUNK = [
    'AND OR NOT "',
    '"työttömyysturva"',
    "NEAR(työ kela, 2)",
    "työ* OR kela^ -asunto +tuki",
    "body:kela {title} [x] (((",
    "'; DROP TABLE questions; --",
    "%_\\% _%_ \\\\",
    "kela\x00tuki\x00",
    "\u202etyöttömyysturva\u202c ja \u200bkela",
    "työttömyysturva 🙂🙂 kela 👍🏽",
    "a\u0308ija\u0308 tyo\u0308tto\u0308myysturva",  # decomposed ä and ö
    "___ ---- ^^^^ **** ::::",
    "ﾃｽﾄ 日本語のテキスト العربية",
    "ja " * 166,
]


@pytest.mark.parametrize("text", JUNK)
@pytest.mark.usefixtures("board")
async def test_odd_text_is_answered_never_a_server_error(
    client: TestClient, adviser: TestClient, text: str
) -> None:
    question = await publish(client, adviser, "Työttömyysturva ja Kela: miten haen tukea?")
    found = await similar(client, text)
    assert len(found) <= 3 and all(q["id"] == question for q in found)


async def test_odd_bytes_in_the_address_are_answered(client: TestClient) -> None:
    for raw in ("%ED%A0%80kela", "%FF%FEtuki", "kela%00tuki", "%C3"):
        response = await client.get(URL(f"{SIMILAR}?text={raw}", encoded=True))
        assert response.status == 200, raw
        assert await response.json() == []


@pytest.mark.usefixtures("board")
async def test_decomposed_letters_match_as_typed_composed(
    client: TestClient, adviser: TestClient
) -> None:
    question = await publish(client, adviser, "Työttömyysturva loppui, mitä nyt?")
    found = await similar(client, "tyo\u0308tto\u0308myysturva")
    assert [q["id"] for q in found] == [question]


def _limited(settings: Settings, count: int) -> Settings:
    return dataclasses.replace(
        settings, limits={**DEFAULT_LIMITS, "search.address": Limit(count, 60)}
    )


async def test_searches_beyond_the_budget_wait(
    aiohttp_client: ClientFactory, settings: Settings, clock: FakeClock
) -> None:
    client = await aiohttp_client(create_app(_limited(settings, 3), clock=clock))
    for text in ("työttömyysturva", "", "kela tuki"):  # empty text counts too: it is a request
        assert (await client.get(SIMILAR, params={"text": text})).status == 200
    refused = await client.get(SIMILAR, params={"text": "asumistuki", "lang": "en"})
    assert refused.status == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "Too many searches from this connection" in (await refused.json())["error"]
    # The board's other API calls are not counted against it.
    assert (await client.get("/api/questions/1")).status == 404
    clock.advance(seconds=61)
    assert (await client.get(SIMILAR, params={"text": "asumistuki"})).status == 200


async def test_the_default_search_budget_applies(client: TestClient) -> None:
    limit = DEFAULT_LIMITS.get("search.address")
    assert limit is not None, "service.settings.DEFAULT_LIMITS has no 'search.address'"
    for _ in range(limit.count):
        assert (await client.get(SIMILAR, params={"text": "kela"})).status == 200
    assert (await client.get(SIMILAR, params={"text": "kela"})).status == 429


async def test_the_openapi_description_lists_the_path(client: TestClient) -> None:
    served = await (await client.get("/api/openapi.json")).json()
    assert served == spec()
    operation = served["paths"][SIMILAR]["get"]
    [parameter] = operation["parameters"]
    assert parameter["name"] == "text" and parameter["schema"]["maxLength"] == 500
    assert set(operation["responses"]) == {"200", "400", "429"}
    listed = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert listed["maxItems"] == 3
    assert listed["items"] == {"$ref": "#/components/schemas/SimilarQuestion"}
    fields = served["components"]["schemas"]["SimilarQuestion"]["properties"]
    assert set(fields) == {"id", "title", "excerpt", "answer", "category", "category_name", "url"}


def test_excerpts_end_after_a_whole_word() -> None:
    text = "Sana " * 60
    cut = api._excerpt(text)
    assert cut.endswith("Sana…") and len(cut) <= api.EXCERPT + 1
    assert api._excerpt("  Lyhyt\n teksti ") == "Lyhyt teksti"


def test_the_query_keeps_the_longest_telling_words() -> None:
    query = search.SimilarQuery(
        "Hei! Olen 19-vuotias ja haluaisin tietää, saanko työttömyysturvaa ja asumistukea,"
        " jos muutan toiselle paikkakunnalle opiskelemaan? Työttömyysturva mietityttää."
    )
    terms = [t.term for t in query.terms]
    assert len(terms) == search.SIMILAR_TERMS
    assert terms[:3] == ["työttömyysturvaa", "paikkakunnalle", "opiskelemaan"]
    assert not {"hei", "olen", "ja", "haluaisin", "tietää", "saanko", "19"} & set(terms)
    # One word per stem: the second form of työttömyysturva is not a second term.
    assert "työttömyysturva" not in terms
