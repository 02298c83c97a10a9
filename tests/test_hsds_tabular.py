"""HSDS 3.0's tabular form read and written: the standard's own example, and hostile packages."""

from __future__ import annotations

import csv
import io
import json
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.directory import tabular
from service.directory.standard import STANDARD_DIR
from service.directory.tabular import PackageError, read_folder, read_zip, write_zip
from service.i18n import speaking

EXAMPLES = Path(__file__).parent / "data" / "hsds" / "examples" / "csv"
STANDARD = json.loads((STANDARD_DIR / "datapackage.json").read_text(encoding="utf-8"))
ENTITIES = [resource["name"] for resource in STANDARD["resources"]]
SERVICE_ID = "ac148810-d857-441c-9679-408f346de14b"


@pytest.fixture(autouse=True)
def in_english() -> Iterator[None]:
    # The messages are asserted in English; the reader's language is the caller's to set.
    with speaking("en"):
        yield


def zipped(files: dict[str, str | bytes], *, under: str = "") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(under + name, content)
    return buffer.getvalue()


def example_files() -> dict[str, str | bytes]:
    return {path.name: path.read_bytes() for path in sorted(EXAMPLES.iterdir())}


def package(**csvs: str | bytes) -> bytes:
    """A zip of the given CSVs (keyword: the entity) and a datapackage.json listing them."""
    files: dict[str, str | bytes] = {tabular.table_file(e): text for e, text in csvs.items()}
    resources = [{"name": e, "path": tabular.table_file(e)} for e in csvs]
    files["datapackage.json"] = json.dumps({"name": "test", "resources": resources})
    return zipped(files)


def refusal(data: bytes) -> str:
    with pytest.raises(PackageError) as caught:
        read_zip(data)
    assert caught.value.field == "file"
    return str(caught.value)


def test_the_standards_example_folder_reads_with_its_values_and_types() -> None:
    tables = read_folder(EXAMPLES)
    assert list(tables) == ENTITIES
    service = tables["service"]
    assert len(service) == 1 and service[0]["id"] == SERVICE_ID
    assert service[0]["name"] == "Community Counselling"
    assert service[0]["minimum_age"] == 12 and type(service[0]["minimum_age"]) is int
    assert service[0]["maximum_age"] == 100
    assert "£50 per hour" in service[0]["fees_description"]
    # Strings exactly as written: the example's trailing space and literal quotes stay.
    assert service[0]["description"].endswith("circumstances. ")
    assert tables["phone"][0]["number"] == '"+44 1234 234567"'
    assert tables["phone"][0]["extension"] == 100
    assert tables["cost_option"][0]["amount"] == 35
    assert tables["schedule"][0]["byday"] == "TH,FR"
    assert tables["service_at_location"][0]["service_id"] == SERVICE_ID
    assert set(service[0]) == set(tabular.entity_fields("service"))  # every cell is filled


def test_the_example_zipped_reads_the_same_at_the_root_or_in_one_folder() -> None:
    from_folder = read_folder(EXAMPLES)
    assert read_zip(zipped(example_files())) == from_folder
    assert read_zip(zipped(example_files(), under="export/")) == from_folder


def test_the_example_written_and_read_back_is_equal_and_deterministic() -> None:
    tables = read_folder(EXAMPLES)
    data = write_zip(tables)
    assert read_zip(data) == tables
    assert write_zip(read_zip(data)) == data
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        # Fixed timestamps, so the same tables give the same bytes tomorrow too.
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_values_survive_a_round_trip() -> None:
    tables: tabular.Tables = {
        "location": [
            {"id": "l1", "location_type": "physical", "latitude": 60.1699, "longitude": 24},
            {"id": "l2", "location_type": "virtual", "name": ' "Koppi", Turku\nline two '},
        ],
        "phone": [{"id": "p1", "number": "+358 40 123 4567", "extension": 12}],
    }
    data = write_zip(tables)
    assert read_zip(data) == tables
    assert type(read_zip(data)["location"][0]["latitude"]) is float


def test_written_csvs_have_all_the_standards_columns_in_its_order() -> None:
    tables = {entity: [{"id": "x"}] for entity in ENTITIES}
    with zipfile.ZipFile(io.BytesIO(write_zip(tables))) as archive:
        written = json.loads(archive.read("datapackage.json"))
        assert written["profile"] == "tabular-data-package" and written["name"]
        assert written["resources"] == STANDARD["resources"]
        for resource in STANDARD["resources"]:
            entity = resource["name"]
            assert tabular.table_file(entity) == resource["path"]
            columns = [field["name"] for field in resource["schema"]["fields"]]
            assert list(tabular.entity_fields(entity)) == columns
            with archive.open(resource["path"]) as file:
                lines = list(csv.reader(io.TextIOWrapper(file, encoding="utf-8", newline="")))
            assert lines == [columns, ["x"] + [""] * (len(columns) - 1)]
    assert tabular.table_file("service_at_location") == "service_at_location.csv"
    assert tabular.table_file("service") == "services.csv"
    assert tabular.entity_fields("service")[:4] == ("id", "organization_id", "program_id", "name")
    assert "phones" not in tabular.entity_fields("service")


def test_only_the_tables_given_are_written() -> None:
    with zipfile.ZipFile(io.BytesIO(write_zip({"service": []}))) as archive:
        assert archive.namelist() == ["datapackage.json", "services.csv"]
        assert [r["name"] for r in json.loads(archive.read("datapackage.json"))["resources"]] == [
            "service"
        ]
    with pytest.raises(ValueError, match="colour"):
        write_zip({"service": [{"id": "s1", "colour": "red"}]})


def test_numbers_are_ints_when_whole_floats_otherwise_and_an_empty_cell_is_no_key() -> None:
    rows = "id,name,latitude,longitude\r\na,,60.5,1e3\r\n,,,\r\n\r\nb, ,-7 ,\r\n"
    tables = read_zip(package(location=rows))
    assert tables["location"] == [
        {"id": "a", "latitude": 60.5, "longitude": 1000},
        {"id": "b", "name": " ", "latitude": -7},
    ]
    assert type(tables["location"][0]["longitude"]) is int


def test_unknown_resources_are_left_but_hsds_named_csvs_are_read() -> None:
    resources = [
        {"name": "our_notes", "path": "notes.csv"},
        {"name": "palvelut", "path": "data/services.csv"},
    ]
    files: dict[str, str | bytes] = {
        "datapackage.json": json.dumps({"resources": resources}),
        "notes.csv": "whatever,columns\r\n1,2\r\n",
        "data/services.csv": "id,name\r\ns1,Ohjaamo\r\n",
    }
    assert read_zip(zipped(files)) == {"service": [{"id": "s1", "name": "Ohjaamo"}]}


def test_bytes_that_are_not_a_zip_are_refused() -> None:
    assert "not a zip file" in refusal(b"id,name\r\ns1,Ohjaamo\r\n")


def test_a_zip_without_datapackage_json_is_refused() -> None:
    message = refusal(zipped({"services.csv": "id,name\r\ns1,Ohjaamo\r\n"}))
    assert message == "The zip file has no datapackage.json."


def test_an_unknown_column_refuses_the_package_naming_file_and_column(tmp_path: Path) -> None:
    message = refusal(package(service="id,name,colour\r\ns1,Ohjaamo,red\r\n"))
    assert "services.csv" in message and "“colour”" in message
    with pytest.raises(PackageError, match="services.csv.*colour"):
        read_folder(folder_of(package(service="id,colour\r\n"), tmp_path))


def test_a_missing_id_column_and_a_duplicate_column_are_refused() -> None:
    message = refusal(package(phone="number,number\r\n1,2\r\n"))
    assert "phones.csv: the column “number” appears twice." in message
    assert "phones.csv: the column id is missing." in message


def test_a_listed_file_that_is_missing_is_refused_naming_it() -> None:
    listed = {"resources": [{"name": "phone", "path": "phones.csv"}]}
    files: dict[str, str | bytes] = {"datapackage.json": json.dumps(listed)}
    assert "phones.csv is listed in datapackage.json but is missing." in refusal(zipped(files))


def test_a_non_number_in_a_number_column_is_refused_naming_file_line_and_column() -> None:
    # The first row spans two lines, so the bad value is on line 4.
    rows = 'id,name,description,minimum_age\r\ns1,A,"two\r\nlines",12\r\ns2,B,,twelve\r\n'
    message = refusal(package(service=rows))
    assert message == "services.csv, line 4, column minimum_age: “twelve” is not a number."
    assert "“12,5” is not a number" in refusal(package(service='id,maximum_age\r\ns1,"12,5"\r\n'))


def test_many_problems_are_listed_up_to_twenty() -> None:
    rows = "id,minimum_age\r\n" + "".join(f"s{n},x{n}\r\n" for n in range(30))
    with pytest.raises(PackageError) as caught:
        read_zip(package(service=rows))
    assert len(caught.value.problems) == 21
    assert (
        caught.value.problems[0]
        == "services.csv, line 2, column minimum_age: “x0” is not a number."
    )
    assert "line 21" in caught.value.problems[19] and "“x19”" in caught.value.problems[19]
    assert caught.value.problems[20] == "Only the first 20 problems are listed."


def test_a_csv_that_is_not_utf8_is_refused_naming_it() -> None:
    latin1 = "id,name\r\ns1,Jyväskylän Ohjaamo\r\n".encode("latin-1")
    message = refusal(package(service=latin1))
    assert message == "services.csv is not UTF-8 text. Save it as CSV UTF-8."
    # A byte-order mark, as spreadsheets write one, is fine.
    bom = "\ufeffid,name\r\ns1,Jyväskylän Ohjaamo\r\n".encode()
    tables = read_zip(package(service=bom))
    assert tables["service"] == [{"id": "s1", "name": "Jyväskylän Ohjaamo"}]


def test_a_zip_bomb_is_refused_before_it_is_unpacked() -> None:
    bomb = b"id,name\r\n" + b"0" * (20 * 1024 * 1024)
    files: dict[str, str | bytes] = {
        "datapackage.json": json.dumps(
            {"resources": [{"name": "service", "path": "services.csv"}]}
        ),
        "services.csv": bomb,
    }
    data = zipped(files)
    assert len(data) < 100_000
    message = refusal(data)
    assert message == (
        "The zip file is refused: services.csv is packed too tightly to be a data file."
    )


def test_a_package_over_the_size_limit_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(tabular, "MAX_TOTAL_BYTES", 10_000)
    big = "id,description\r\n" + "".join(f"s{n},{os.urandom(30).hex()}\r\n" for n in range(200))
    message = "The package is too large: over 0 MB unpacked."
    assert refusal(package(service=big)) == message
    # A folder has no declared sizes: its bytes are counted as they are read.
    with pytest.raises(PackageError, match=message):
        read_folder(folder_of(package(service=big), tmp_path))


def test_unsafe_entry_names_and_too_many_entries_are_refused() -> None:
    files = example_files()
    files["../evil.csv"] = "id\r\n"
    assert "unsafe file name: ../evil.csv" in refusal(zipped(files))
    many: dict[str, str | bytes] = {f"notes/{n}.txt": "" for n in range(70)}
    assert refusal(zipped(many)) == "The zip file has more than 64 files."


def test_a_path_outside_the_package_is_refused() -> None:
    resources = [{"name": "service", "path": "../services.csv"}]
    message = refusal(zipped({"datapackage.json": json.dumps({"resources": resources})}))
    assert "the table service needs the path of a CSV file in the package" in message


def folder_of(data: bytes, folder: Path) -> Path:
    """The zip unpacked into a folder, for read_folder."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        archive.extractall(folder)
    return folder
