"""The public board: listing, paging, categories, question pages, and Finnish-aware search."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import FakeClock, ask

StaffClient = Callable[..., Awaitable[TestClient]]


async def publish(
    client: TestClient,
    staff: TestClient,
    body: str,
    *,
    category: str = "tyonhaku",
    title: str | None = None,
    answer: str = "Hyvä kysymys, tässä vastaus.",
) -> int:
    created = await ask(client, body=body, category=category, title=title)
    response = await staff.post(
        f"/api/staff/questions/{created['id']}/answer", json={"body": answer, "publish": True}
    )
    assert response.status == 200, await response.text()
    return int(created["id"])


@pytest.fixture
async def adviser(staff_client: StaffClient) -> TestClient:
    return await staff_client("mikko", "adviser", "Mikko")


async def test_board_lists_newest_first_twenty_a_page(
    client: TestClient, adviser: TestClient, clock: FakeClock
) -> None:
    ids = []
    for n in range(23):
        clock.advance(minutes=1)
        ids.append(await publish(client, adviser, f"Kysymys numero {n} työnhausta ja CV:stä"))
    first = await (await client.get("/api/questions")).json()
    assert first["total"] == 23 and first["page"] == 1
    assert [q["id"] for q in first["items"]] == list(reversed(ids))[:20]
    second = await (await client.get("/api/questions?page=2")).json()
    assert [q["id"] for q in second["items"]] == list(reversed(ids))[20:]
    html = await (await client.get("/?page=2")).text()
    assert html.count('class="card"') == 3 and 'rel="prev"' in html


async def test_category_filter_and_unknown_category(
    client: TestClient, adviser: TestClient
) -> None:
    housing = await publish(
        client, adviser, "Mistä saan vuokravakuuden ensimmäiseen asuntoon?", category="asuminen"
    )
    await publish(client, adviser, "Miten kirjoitan hyvän työhakemuksen kauppaan?")
    listed = await (await client.get("/api/questions?category=asuminen")).json()
    assert [q["id"] for q in listed["items"]] == [housing]
    page = await client.get("/?category=asuminen")
    assert page.status == 200 and "vuokravakuuden" in await page.text()
    assert (await client.get("/?category=ei-ole")).status == 404
    bad = await client.get("/api/questions?category=ei-ole")
    assert bad.status == 400 and "category" in (await bad.json())["errors"]


async def test_bad_page_number_names_the_parameter(client: TestClient) -> None:
    for value in ("0", "-1", "abc", "99999999"):
        response = await client.get(f"/api/questions?page={value}")
        assert response.status == 400
        assert "page" in (await response.json())["errors"]
    assert (await client.get("/?page=abc")).status == 400


async def test_question_page_labels_answer_with_role_and_name(
    client: TestClient, adviser: TestClient, staff_client: StaffClient
) -> None:
    qid = await publish(
        client,
        adviser,
        "Saako työmarkkinatukea, jos opiskelen iltaisin?",
        title="Työmarkkinatuki ja opiskelu",
        answer="Kyllä voi, kun opinnot ovat sivutoimisia.",
    )
    html = await (await client.get(f"/q/{qid}?lang=en")).text()
    assert "Työmarkkinatuki ja opiskelu" in html
    assert "Employment adviser Mikko" in html
    item = await (await client.get(f"/api/questions/{qid}")).json()
    assert item["answers"] == [
        {
            "body": "Kyllä voi, kun opinnot ovat sivutoimisia.",
            "role": "adviser",
            "first_name": "Mikko",
            "answered_at": item["answers"][0]["answered_at"],
            "referrals": [],
        }
    ]
    assert (await client.get("/api/questions/999")).status == 404
    assert (await client.get("/q/999")).status == 404
    assert (await client.get("/q/abc")).status == 404


async def test_pending_question_is_not_public(client: TestClient) -> None:
    created = await ask(client)
    assert (await client.get(f"/q/{created['id']}")).status == 404
    assert (await client.get(f"/api/questions/{created['id']}")).status == 404


async def test_published_question_appears_on_cached_board(
    client: TestClient, adviser: TestClient
) -> None:
    before = await (await client.get("/")).text()
    assert "kuntouttavasta" not in before
    await publish(client, adviser, "Mitä kuntouttavasta työtoiminnasta maksetaan?")
    after = await (await client.get("/")).text()
    assert "kuntouttavasta" in after, "publishing must invalidate the cached first page"


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("työpaja", "pajat"),  # inflected: työpajoissa
        ("TYÖPAJA", "pajat"),
        ("kela", "kela"),  # Kelan
        ("tuki", "tuki"),  # part of a compound: palkkatuki
        ("palkkatuen", "tuki"),  # inflected compound
        ("tyopaja", "pajat"),  # typed without umlauts
        ("asunnon vuokravakuus", "asunto"),  # every word must match
        ("asunnon työpaja", None),
    ],
)
async def test_search_understands_finnish(
    client: TestClient, adviser: TestClient, query: str, found: str | None
) -> None:
    ids = {
        "pajat": await publish(
            client, adviser, "Mitä nuorten työpajoissa oikeasti tehdään päivisin?"
        ),
        "kela": await publish(
            client, adviser, "Milloin Kelan päätös työmarkkinatuesta tulee?", category="raha"
        ),
        "tuki": await publish(
            client, adviser, "Saako työnantaja palkkatuki-rahaa minusta?", category="raha"
        ),
        "asunto": await publish(
            client, adviser, "Asunnon vuokravakuus on liian suuri minulle.", category="asuminen"
        ),
        "other": await publish(client, adviser, "Miten valmistaudun työhaastatteluun kaupassa?"),
    }
    result = await (await client.get("/api/questions", params={"q": query})).json()
    expected = [] if found is None else [ids[found]]
    assert [q["id"] for q in result["items"]] == expected
    html = await (await client.get("/", params={"q": query})).text()
    assert html.count('class="card"') == len(expected)


async def test_search_with_nothing_matching_or_only_punctuation(
    client: TestClient, adviser: TestClient
) -> None:
    await publish(client, adviser, "Mitä nuorten työpajoissa oikeasti tehdään päivisin?")
    assert (await (await client.get("/api/questions?q=zzzxq")).json())["total"] == 0
    assert (await (await client.get('/api/questions?q="*()')).json())["total"] == 0
    assert (await client.get('/?q="AND OR NOT*')).status == 200


async def test_search_text_is_escaped_in_the_page(client: TestClient) -> None:
    html = await (await client.get("/", params={"q": "<script>alert(1)</script>"})).text()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


async def test_categories_api(client: TestClient) -> None:
    slugs = [c["slug"] for c in await (await client.get("/api/categories")).json()]
    assert slugs == ["tyonhaku", "opiskelu", "raha", "tyopajat", "jaksaminen", "asuminen", "muu"]
    names = await (await client.get("/api/categories")).json()
    assert names[0]["name"] == "Työnhaku"
