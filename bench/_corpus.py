"""Generated Finnish board content and a fast bulk loader for the benchmark database."""

from __future__ import annotations

import functools
import random
import re
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from moderation.intake import hash_code, new_code
from service.storage import search

BATCH = 5000
SLUGS = ("tyonhaku", "opiskelu", "raha", "tyopajat", "jaksaminen", "asuminen", "muu")

CITIES = (
    "Helsingissä",
    "Espoossa",
    "Vantaalla",
    "Tampereella",
    "Turussa",
    "Oulussa",
    "Jyväskylässä",
    "Lahdessa",
    "Kuopiossa",
    "Porissa",
    "Joensuussa",
    "Rovaniemellä",
    "Seinäjoella",
    "Vaasassa",
)
AGES = tuple(str(age) for age in range(16, 30))
NAMES = ("Sanna", "Mikko", "Helena", "Aino", "Juha", "Laura", "Tuomas", "Riikka", "Pekka")
ROLES = ("counsellor", "adviser", "coordinator")

OPENERS = (
    "Hei!",
    "Moi,",
    "Hei, olen {age}-vuotias ja asun {city}.",
    "Terve.",
    "Olen {age}-vuotias nuori {city}.",
    "Kysyisin neuvoa.",
    "En tiedä keneltä muulta kysyä.",
    "Hei, minulla olisi kysymys.",
    "Olen ollut työttömänä {months} kuukautta.",
)
CLOSERS = (
    "Kiitos etukäteen!",
    "Kiitos vastauksesta.",
    "Mitä minun kannattaisi tehdä?",
    "Onko tähän jotain ratkaisua?",
    "Kenelle minun pitäisi soittaa?",
    "Kiitos avusta!",
    "Olisin tosi kiitollinen neuvoista.",
    "",
)
SHARED = (
    "Sain Kelalta kirjeen, jota en ymmärrä ollenkaan.",
    "Kelan sivuilta en löytänyt vastausta tähän.",
    "Työkkärin kanssa on sovittu työllistymissuunnitelma.",
    "Olen käynyt Ohjaamossa pari kertaa juttelemassa.",
    "Vanhempani eivät osaa neuvoa näissä asioissa.",
    "Sossu sanoi, että kannattaa kysyä täältä.",
    "Minulla on ADHD-diagnoosi ja keskittyminen on välillä vaikeaa.",
    "Kävin aiemmin työpajassa ja se auttoi paljon.",
)

TOPICS: dict[str, dict[str, tuple[str, ...]]] = {
    "tyonhaku": {
        "titles": (
            "Miten teen hyvän CV:n?",
            "Työhakemus ilman työkokemusta",
            "Jännittää työhaastattelu",
            "Kesätyöpaikan hakeminen",
            "Voiko palkkatuki auttaa saamaan töitä?",
            "Työkokeilu vai palkkatukityö?",
            "Mitä kirjoitan ansioluetteloon?",
            "Oppisopimus ja työnhaku",
            "Avoin hakemus pienyritykseen",
            "LinkedIn-profiili nuorelle",
        ),
        "sentences": (
            "Olen lähettänyt {count} työhakemusta, mutta en ole päässyt yhteenkään haastatteluun.",
            "CV:ssäni on vain kesätyö kaupan kassalla ja kahvilassa.",
            "Ansioluettelo tuntuu tyhjältä, koska minulla ei ole työkokemusta.",
            "Haluaisin hakea töitä varastosta tai logistiikasta {city}.",
            "Työnantaja kysyi, voiko minulle saada palkkatukea.",
            "Onko työkokeilusta hyötyä, jos haluan myöhemmin vakituisen työpaikan?",
            "Työhaastattelussa jännitän niin paljon, että en saa sanaa suustani.",
            "Pitäisikö työhakemukseen kirjoittaa, että olen ollut pitkään työttömänä?",
            "Vuokrafirmat eivät vastaa hakemuksiini ollenkaan.",
            "Haluaisin oppisopimuskoulutukseen sähköalalle.",
            "Kuulin, että palkkatuki voi olla jopa puolet palkkakuluista.",
            "Miten kerron työhaastattelussa aukosta CV:ssä?",
        ),
        "answers": (
            "Hyvässä CV:ssä kannattaa nostaa esiin myös harrastukset, vapaaehtoistyö ja kurssit.",
            "Työhakemus kannattaa räätälöidä jokaiseen paikkaan erikseen ja pitää lyhyenä.",
            "Palkkatukea hakee työnantaja, ja TE-toimisto arvioi tuen määrän tilanteesi mukaan.",
            "Työkokeilu on hyvä tapa näyttää osaamista ja saada suosittelija.",
            "Työhaastatteluun voi harjoitella Ohjaamossa tai työvalmentajan kanssa.",
            "Aukon CV:ssä voi selittää lyhyesti ja kertoa, mitä opit sinä aikana.",
            "Oppisopimuksessa teet töitä ja opiskelet tutkinnon samalla.",
        ),
    },
    "opiskelu": {
        "titles": (
            "Yhteishaku vai jatkuva haku?",
            "Opiskelu ammattikoulussa työttömänä",
            "Opintotuki ja työmarkkinatuki",
            "Lukion keskeyttäminen",
            "Pääsykokeeseen valmistautuminen",
            "Aikuiskoulutus ja opintolaina",
            "TUVA-koulutus kiinnostaa",
            "Voiko opiskella osa-aikaisesti?",
        ),
        "sentences": (
            "Keskeytin lukion {months} kuukautta sitten ja mietin nyt ammattikoulua.",
            "Haluaisin opiskella kokiksi tai lähihoitajaksi.",
            "Menetänkö työmarkkinatuen, jos aloitan opiskelun?",
            "Opintotuki tuntuu liian pieneltä, kun vuokra on näin korkea.",
            "Yhteishaussa en päässyt mihinkään, mitä nyt?",
            "Opinto-ohjaaja suositteli valmentavaa koulutusta.",
            "Voinko opiskella verkossa ja tehdä samalla töitä?",
            "Opiskelu on aina tuntunut vaikealta, koska minulla on lukihäiriö.",
            "Ammattitutkinnon voisi kai suorittaa myös näyttötutkintona.",
            "Opintolaina pelottaa, koska en halua velkaa.",
        ),
        "answers": (
            "Jatkuvan haun kautta voi aloittaa ammatilliset opinnot joustavasti ympäri vuoden.",
            "Opintotuen ja asumistuen yhdistelmä kannattaa tarkistaa Kelan laskurilla.",
            "Päätoiminen opiskelu yleensä lopettaa työmarkkinatuen, joten selvitä asia etukäteen.",
            "TUVA-koulutuksessa voi kokeilla eri aloja ennen tutkintokoulutukseen hakemista.",
            "Opinto-ohjaajan kanssa voit tehdä henkilökohtaisen opiskelusuunnitelman.",
            "Opiskelussa saa tukea oppimisvaikeuksiin, kunhan kerrot niistä oppilaitokselle.",
        ),
    },
    "raha": {
        "titles": (
            "Kelan päätös viivästyy",
            "Toimeentulotuki ja säästöt",
            "Työmarkkinatuki pieneni",
            "Miten teen budjetin?",
            "Maksuhäiriömerkintä ja vuokra-asunto",
            "Velat ulosotossa",
            "Kelan asumistuki ja tulot",
            "Laskut jäivät maksamatta",
        ),
        "sentences": (
            "Kelan päätös on ollut käsittelyssä jo {weeks} viikkoa.",
            "Rahat loppuvat aina ennen kuun loppua.",
            "Sain Kelasta takaisinperintäpäätöksen, koska tuloni muuttuivat.",
            "Toimeentulotukea haettiin, mutta hakemus hylättiin.",
            "Minulla on {sum} euroa velkaa pikavipeistä.",
            "Työmarkkinatuki on noin {sum} euroa kuussa.",
            "Vaikuttaako kesätyön palkka asumistukeen ja työmarkkinatukeen?",
            "En ole saanut Kelan tukea, koska liitteitä puuttui.",
            "Pankki ei avaa minulle tiliä maksuhäiriömerkinnän takia.",
            "Kelan etuudet ja niiden yhteensovitus on tosi sekavaa.",
        ),
        "answers": (
            "Kelan päätöksestä voi hakea oikaisua, ja siihen saa apua sosiaaliohjaajalta.",
            "Talous- ja velkaneuvonta auttaa maksutta velkojen järjestelyssä.",
            "Budjetissa kannattaa ensin maksaa vuokra, sähkö ja ruoka.",
            "Perustoimeentulotukea haetaan Kelasta, täydentävää ja ehkäisevää kunnalta.",
            "Tulot vaikuttavat asumistukeen, joten ilmoita muutoksista Kelalle heti.",
            "Ulosoton maksusuunnitelmasta voi neuvotella, jos tilanne muuttuu.",
        ),
    },
    "tyopajat": {
        "titles": (
            "Mitä työpajoissa tehdään?",
            "Työpaja ja työmarkkinatuki",
            "Kuntouttava työtoiminta",
            "Pääseekö työpajalle ilman lähetettä?",
            "Työpajajakson jälkeen töihin?",
            "Nuorten työpaja kiinnostaa",
        ),
        "sentences": (
            "Olen ollut työpajalla {months} kuukautta puutyöpuolella.",
            "Työpajoissa on kuulemma mediaa, kahvilaa ja korjaamoa.",
            "Saanko kulukorvausta työpajajaksolta?",
            "Työvalmentaja ehdotti kuntouttavaa työtoimintaa.",
            "Nuorten työpaja {city} kuulostaa hyvältä, mutta jännittää mennä.",
            "Voiko työpajan kautta saada palkkatukityön?",
            "Kuntouttavassa työtoiminnassa olen ollut kolme päivää viikossa.",
            "Työpajoissa saisi kuulemma apua myös asunnon hakemiseen.",
            "Haluaisin työpajalle ompelimoon tai ateriapalveluihin.",
        ),
        "answers": (
            "Työpajalla harjoitellaan työelämätaitoja työvalmentajan tuella omaan tahtiin.",
            "Työpajajaksolta maksetaan yleensä kulukorvausta ja työmarkkinatuki jatkuu.",
            "Nuorten työpajoihin voi ohjautua TE-palveluiden, sosiaalitoimen tai Ohjaamon kautta.",
            "Kuntouttava työtoiminta on sosiaalipalvelu, jossa tehdään kevyempiä työtehtäviä.",
            "Työpajan jälkeen moni jatkaa opiskeluun, työkokeiluun tai palkkatukityöhön.",
        ),
    },
    "jaksaminen": {
        "titles": (
            "Väsyttää koko ajan",
            "Päivärytmi on sekaisin",
            "Yksinäisyys ja työttömyys",
            "Stressi työnhausta",
            "Mistä saa keskusteluapua?",
            "Jännittäminen arjessa",
        ),
        "sentences": (
            "Nukun päivät ja valvon yöt, enkä saa rytmiä kuntoon.",
            "Työnhaku stressaa niin paljon, että en jaksa avata sähköpostia.",
            "Kavereita ei juuri ole, ja päivät tuntuvat pitkiltä.",
            "Mieliala on ollut maassa jo {months} kuukautta.",
            "Terveydenhoitaja ohjasi minut psykiatriselle sairaanhoitajalle.",
            "Jaksaminen on koetuksella, kun kaikki tuntuu menevän pieleen.",
            "En jaksa lähteä kotoa mihinkään.",
            "Liikunta auttaisi kuulemma, mutta en tiedä mistä aloittaa.",
        ),
        "answers": (
            "Pienetkin arjen rutiinit, kuten sama heräämisaika, auttavat rytmiin.",
            "Keskusteluapua saa esimerkiksi Sekasin-chatista ja oman kunnan nuorisopalveluista.",
            "Jos mieliala on pitkään matala, varaa aika terveysasemalle.",
            "Ohjaamossa voi jutella ilman ajanvarausta ja saada tukea jaksamiseen.",
            "Vertaistukiryhmissä tapaa muita samassa tilanteessa olevia nuoria.",
        ),
    },
    "asuminen": {
        "titles": (
            "Ensimmäinen oma asunto",
            "Takuuvuokra puuttuu",
            "Asumistuen hakeminen",
            "Vuokranantaja ei palauta vakuutta",
            "Häätö uhkaa",
            "Soluasunto vai yksiö?",
        ),
        "sentences": (
            "Haen ensimmäistä omaa asuntoa {city}.",
            "Takuuvuokraa en pysty maksamaan, koska säästöjä ei ole.",
            "Asumistuki ei riitä vuokraan, joka on {sum} euroa.",
            "Vuokranantaja vaatii luottotiedot, mutta minulla on merkintä.",
            "Asuntojonossa olen ollut jo puoli vuotta.",
            "Vuokra on jäänyt maksamatta kahdelta kuukaudelta.",
            "Kimppakämppä kiinnostaisi, jotta pääsisin pois vanhempieni luota.",
            "Saako asumistukea, jos asuu soluasunnossa?",
            "Muutto toiselle paikkakunnalle opiskelun takia mietityttää.",
        ),
        "answers": (
            "Takuuvuokraan voi hakea maksusitoumusta Kelasta toimeentulotukena.",
            "Yleistä asumistukea haetaan Kelasta, ja siihen vaikuttavat kaikkien asukkaiden tulot.",
            "Nuorisoasuntoliitto ja kaupungin vuokra-asunnot sopivat hyvin ensiasunnoksi.",
            "Jos vuokrarästejä kertyy, ota heti yhteyttä vuokranantajaan ja asumisneuvojaan.",
            "Asumisneuvoja auttaa maksusuunnitelman tekemisessä ja häädön ehkäisyssä.",
        ),
    },
    "muu": {
        "titles": (
            "Ajokortin hinta",
            "Kutsunnat ja työnhaku",
            "Siviilipalvelus vai armeija?",
            "Henkilökortti kadonnut",
            "Vapaaehtoistyö kokemukseksi",
            "Digituki ja lomakkeet",
        ),
        "sentences": (
            "Ajokortti maksaa yli tuhat euroa, eikä minulla ole varaa.",
            "Kutsunnat ovat ensi kuussa ja en tiedä mitä tehdä.",
            "Kadotin henkilökortin ja pankkitunnukset eivät toimi.",
            "Haluaisin tehdä vapaaehtoistyötä saadakseni kokemusta.",
            "Lomakkeiden täyttäminen verkossa on minulle tosi vaikeaa.",
            "Puhelin hajosi, enkä pysty hoitamaan asioita.",
        ),
        "answers": (
            "Ajokorttiin voi joskus saada tukea kunnalta, jos se on työllistymisen edellytys.",
            "Vapaaehtoistyö on hyvä lisä CV:hen ja sen voi mainita työhakemuksessa.",
            "Digitukea saa kirjastoista ja Ohjaamosta maksutta.",
            "Siviilipalveluksesta ja varusmiespalveluksesta kerrotaan kutsunnoissa tarkemmin.",
        ),
    },
}
GREETINGS = ("Hei!", "Moi!", "Kiitos kysymyksestä.", "Hyvä kysymys.", "")
SIGNOFFS = (
    "Voit kysyä lisää täällä milloin vain.",
    "Tsemppiä!",
    "Ota rohkeasti yhteyttä Ohjaamoon.",
    "Toivottavasti tästä oli apua.",
    "",
)


@dataclass(frozen=True)
class Item:
    """One generated published question with its answers."""

    slug: str
    title: str | None
    body: str
    answers: tuple[tuple[str, str, str], ...]
    asked_at: str
    published_at: str


def _fill(rng: random.Random, template: str) -> str:
    """Fill the {slots} of one sentence template."""
    return template.format(
        age=rng.choice(AGES),
        city=rng.choice(CITIES),
        months=rng.randint(2, 24),
        weeks=rng.randint(2, 12),
        count=rng.randint(5, 80),
        sum=rng.randrange(200, 2000, 10),
    )


def _body(rng: random.Random, topic: dict[str, tuple[str, ...]]) -> str:
    """Opener, two to four topic sentences, maybe a shared one, and a closer."""
    parts = [_fill(rng, rng.choice(OPENERS))]
    parts += [_fill(rng, s) for s in rng.sample(topic["sentences"], rng.randint(2, 4))]
    if rng.random() < 0.4:
        parts.append(rng.choice(SHARED))
    parts.append(rng.choice(CLOSERS))
    return " ".join(p for p in parts if p)


def _answer(rng: random.Random, topic: dict[str, tuple[str, ...]]) -> str:
    """A greeting, two or three advice sentences and a sign-off."""
    parts = [rng.choice(GREETINGS), *rng.sample(topic["answers"], rng.randint(2, 3))]
    parts.append(rng.choice(SIGNOFFS))
    return " ".join(p for p in parts if p)


def _iso(moment: datetime) -> str:
    """The service's UTC text form of a time."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def generate(count: int, seed: int = 2024) -> Iterator[Item]:
    """Yield `count` questions, oldest first, spread over three years up to now."""
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=3 * 365)
    step = (now - start) / max(count, 1)
    for index in range(count):
        slug = rng.choice(SLUGS)
        topic = TOPICS[slug]
        asked = start + step * index
        answered = min(asked + timedelta(minutes=rng.randint(30, 600)), now)
        answers = tuple(
            (_answer(rng, topic), rng.choice(ROLES), rng.choice(NAMES))
            for _ in range(1 if rng.random() < 0.8 else 2)
        )
        yield Item(
            slug=slug,
            title=rng.choice(topic["titles"]) if rng.random() < 0.85 else None,
            body=_body(rng, topic),
            answers=answers,
            asked_at=_iso(asked),
            published_at=_iso(answered),
        )


@functools.cache
def _stem(word: str) -> str:
    """One word's Snowball stem, through the service's own `stems()`."""
    return search.stems(word)[0]


def stem_document(document: str) -> str:
    """The question_stems text, as `search.index_question` builds it, with stems memoised."""
    return " ".join(_stem(word) for word in search.words(document))


Rows = list[tuple[object, ...]]


def _rows(
    start_id: int, items: Sequence[Item], categories: dict[str, int]
) -> tuple[Rows, Rows, Rows]:
    """Question, answer and search rows for one batch."""
    questions: Rows = []
    answers: Rows = []
    docs: Rows = []
    for qid, item in enumerate(items, start=start_id):
        code_hash = hash_code(new_code())
        questions.append(
            (qid, categories[item.slug], item.title, item.body, code_hash, item.asked_at)
            + (item.published_at, item.published_at)
        )
        answers += [(qid, role, name, body, item.published_at) for body, role, name in item.answers]
        document = search._document(item.title, item.body, [a[0] for a in item.answers])
        docs.append((qid, stem_document(document), document))
    return questions, answers, docs


def _write_batch(
    conn: sqlite3.Connection, start_id: int, items: Sequence[Item], categories: dict[str, int]
) -> None:
    """Insert one batch of questions, answers and both search tables."""
    questions, answers, docs = _rows(start_id, items, categories)
    conn.executemany(
        "INSERT INTO questions (id, category_id, title, body, publish_allowed, status, code_hash,"
        " asked_at, answered_at, published_at) VALUES (?, ?, ?, ?, 1, 'published', ?, ?, ?, ?)",
        questions,
    )
    conn.executemany(
        "INSERT INTO answers (question_id, staff_id, role, first_name, body, answered_at)"
        " VALUES (?, NULL, ?, ?, ?, ?)",
        answers,
    )
    conn.executemany(
        "INSERT INTO question_stems (rowid, words) VALUES (?, ?)", [(d[0], d[1]) for d in docs]
    )
    conn.executemany(
        "INSERT INTO question_trigrams (rowid, text) VALUES (?, ?)", [(d[0], d[2]) for d in docs]
    )


def _check_stems(sample: Item) -> None:
    """Guard that the memoised stemming equals `search.stems()` on a whole document."""
    document = search._document(sample.title, sample.body, [a[0] for a in sample.answers])
    if stem_document(document) != " ".join(search.stems(document)):
        raise RuntimeError("memoised stems differ from service.storage.search.stems()")


def _batches(items: Iterator[Item], size: int) -> Iterator[list[Item]]:
    """Consecutive lists of at most `size` items."""
    batch: list[Item] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def populate(db_path: Path, count: int) -> None:
    """Fill an already migrated database with `count` published questions in one transaction."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        categories = dict(conn.execute("SELECT slug, id FROM categories").fetchall())
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("BEGIN IMMEDIATE")
        next_id = 1
        for batch in _batches(generate(count), BATCH):
            if next_id == 1:
                _check_stems(batch[0])
            _write_batch(conn, next_id, batch, categories)
            next_id += len(batch)
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def vocabulary(min_length: int = 4, seed: int = 11) -> list[str]:
    """Every distinct word of the generator's texts, shuffled: realistic uncached search words."""
    texts = [*OPENERS, *CLOSERS, *SHARED, *CITIES, *GREETINGS, *SIGNOFFS]
    for topic in TOPICS.values():
        for group in topic.values():
            texts += group
    found = {
        word
        for text in texts
        for word in search.words(re.sub(r"\{\w+\}", " ", text))
        if len(word) >= min_length and not word.isdigit()
    }
    ordered = sorted(found)
    random.Random(seed).shuffle(ordered)
    return ordered
