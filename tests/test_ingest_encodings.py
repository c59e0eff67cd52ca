"""Text encodings: UTF-8 and Windows-1252 are read without being told; East Asian text is never
taken for Windows-1252 (it would import as other characters); any other encoding is named in the
mapping's [file] section; names that read like Windows-1250 text taken for Windows-1252 get a note;
a byte the encoding cannot read is reported with its line."""
from __future__ import annotations

import pytest

from analytics.errors import WaypointError
from analytics.mapping import load_mapping
from tests.ingest_helpers import csv_file, fresh, ingest

HEADER = "patient_id,clinician_id,session_date,status,site\n"
SITES = {"cp932": "東京クリニック", "gb18030": "北京心理诊所", "big5": "台北心理診所", "cp949": "서울 심리 클리닉"}


def export(sites: str, rows: int = 12) -> str:
    """A small session log whose site column holds ``sites`` on every row."""
    return HEADER + "".join(f"p{i},c1,2025-01-06,attended,{sites}\n" for i in range(rows))


def mapping_file(folder, text: str):
    path = folder / "map.toml"
    path.write_text(text, encoding="utf-8")
    return path


def stored_sites(con) -> set[str]:
    return {site for (site,) in con.execute("SELECT site FROM sessions").fetchall()}


@pytest.mark.parametrize("encoding", list(SITES))
def test_east_asian_text_is_stopped_not_taken_for_windows_1252(tmp_path, encoding):
    con = fresh()
    with pytest.raises(WaypointError) as err:
        ingest(con, csv_file(tmp_path, export(SITES[encoding]), encoding=encoding))
    message = str(err.value)
    assert "export.csv: the file is not UTF-8" in message and "Chinese, Japanese or Korean" in message
    assert "[file] encoding" in message and "--mapping" in message
    assert con.execute("SELECT count(*) FROM sessions").fetchone() == (0,)


@pytest.mark.parametrize("encoding", list(SITES))
def test_the_encoding_named_in_the_mapping_imports_the_text_as_written(tmp_path, encoding):
    con = fresh()
    result = ingest(con, csv_file(tmp_path, export(SITES[encoding]), encoding=encoding),
                    mapping=mapping_file(tmp_path, f'[file]\nencoding = "{encoding}"\n'))
    assert (result.new_rows, result.rejected) == (12, 0)
    assert stored_sites(con) == {SITES[encoding]}
    assert result.encoding == encoding and "(the file is not UTF-8)" in result.summary()


def test_the_suggested_encoding_is_one_that_reads_the_file(tmp_path):
    path = csv_file(tmp_path, export(SITES["cp932"], rows=40), encoding="cp932")
    with pytest.raises(WaypointError, match=r'encoding = "(\w+)"') as err:
        ingest(fresh(), path)
    suggested = err.value.args[0].split('encoding = "')[1].split('"')[0]
    con = fresh()
    ingest(con, path, mapping=mapping_file(tmp_path, f'[file]\nencoding = "{suggested}"\n'))
    assert stored_sites(con) == {SITES["cp932"]}


@pytest.mark.parametrize("sites", [
    "Clinique Hélène – Zürich", "“Zoë” Åsa Öberg", "ÆØÅ ©®°±²³µ¶·¸¹º»¼½¾¿", "Dr O’Brien, l’été «Ça va»", "Straße Œuvre",
])
@pytest.mark.parametrize("rows", [1, 3, 12, 400])
def test_windows_1252_names_with_accents_and_quotes_still_import_without_a_mapping(tmp_path, sites, rows):
    text = export(sites, rows).replace(f",{sites}\n", f',"{sites}"\n')
    con = fresh()
    result = ingest(con, csv_file(tmp_path, text, encoding="cp1252"))
    assert (result.new_rows, result.encoding) == (rows, "cp1252")
    assert stored_sites(con) == {sites}
    assert "read as Windows-1252 text (the file is not UTF-8)" in result.summary()


def test_central_european_text_is_read_as_written_when_the_mapping_names_it(tmp_path):
    # Windows-1250 and Windows-1252 cannot be told apart from a few names: the mapping says which
    text = export("Łódź, Gdańsk", rows=3).replace(",Łódź, Gdańsk\n", ',"Łódź, Gdańsk"\n')
    con = fresh()
    ingest(con, csv_file(tmp_path, text, encoding="cp1250"), mapping=mapping_file(tmp_path, '[file]\nencoding = "cp1250"\n'))
    assert stored_sites(con) == {"Łódź, Gdańsk"}


def test_a_utf8_file_says_nothing_about_its_encoding(tmp_path):
    result = ingest(fresh(), csv_file(tmp_path, export("Clinique Hélène")))
    assert result.encoding == "utf-8" and "not UTF-8" not in result.summary()


def test_a_byte_the_named_encoding_cannot_read_is_reported_with_its_line(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes((HEADER + "p1,c1,2025-01-06,attended,North\n" * 3).encode() + b"p2,c1,2025-01-07,attended,\x81\n")
    with pytest.raises(WaypointError, match=r"export.csv: the file is not utf-8 text as the mapping's \[file\] "
                                            r"encoding 'utf-8' says \(line 5, byte 172: 81\)"):
        ingest(fresh(), path, mapping=mapping_file(tmp_path, '[file]\nencoding = "utf-8"\n'))


def test_a_file_neither_utf8_nor_windows_1252_names_the_line_of_the_first_unreadable_byte(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(HEADER.encode() + b"p1,c1,2025-01-06,attended,North\n\r\n" + b"p2,c1,2025-01-07,attended,\x9d\n")
    with pytest.raises(WaypointError, match=r"neither UTF-8 nor Windows-1252 text \(line 4, byte 110: 9D\)"):
        ingest(fresh(), path)


@pytest.mark.parametrize("text, match", [
    ('[file]\nencoding = "klingon"\n', "'klingon' is not a text encoding Waypoint knows"),
    ('[file]\nencoding = "rot13"\n', "'rot13' is not a text encoding"),
    ('[file]\nencoding = 1252\n', "1252 is not a text encoding"),
    ('[file]\ncharset = "cp1252"\n', "unknown key 'charset' in \\[file\\]"),
    ('file = "x"\n', "\\[file\\] must be a table"),
])
def test_a_mapping_with_a_bad_encoding_stops_before_reading_the_file(tmp_path, text, match):
    with pytest.raises(WaypointError, match=match):
        load_mapping(mapping_file(tmp_path, text))


def test_encoding_names_are_python_codec_names_in_any_spelling(tmp_path):
    assert load_mapping(mapping_file(tmp_path, '[file]\nencoding = "Shift_JIS"\n')).encoding == "shift_jis"
    assert load_mapping({"file": {"encoding": "UTF8"}}).encoding == "utf-8"
    assert load_mapping({"patient_id": "Client"}).encoding is None


def test_a_long_measurement_file_in_a_named_encoding_matches_its_patients_sessions(tmp_path):
    con = fresh()
    ingest(con, csv_file(tmp_path, "patient_id,clinician_id,session_date,status\n田中太郎,山本医師,2025-01-06,attended\n",
                         name="sessions.csv", encoding="cp932"),
           mapping=mapping_file(tmp_path, '[file]\nencoding = "cp932"\n'))
    long = csv_file(tmp_path, "Client ID,Date,Measure,Score\n田中太郎,2025-01-06,PHQ-9,18\n", name="scores.csv",
                    encoding="cp932")
    preview_only = ingest(con, long, mapping=mapping_file(tmp_path, '[file]\nencoding = "cp932"\n'), dry_run=True)
    assert (preview_only.kind, preview_only.new_rows, preview_only.dry_run) == ("measurements", 1, True)
    ingest(con, long, mapping=mapping_file(tmp_path, '[file]\nencoding = "cp932"\n'))
    assert con.execute("SELECT m.patient_id, m.score, s.clinician_id FROM measurements m "
                       "JOIN sessions s USING (patient_id)").fetchall() == [("田中太郎", 18, "山本医師")]


@pytest.mark.parametrize("name, shown", [("Łódź", "£ódŸ"), ("Michał Nowak", "Micha³"), ("Żaneta", "¯aneta"),
                                         ("Wrocław", "Wroc³aw")])
def test_central_european_text_read_as_windows_1252_imports_with_a_note_to_check_names(tmp_path, name, shown):
    # Windows-1250 and Windows-1252 both read any of these bytes: the import goes ahead, and says
    # which name looks wrong and what to do
    text = export(name, rows=2).replace(f",{name}\n", f',"{name}"\n')
    con = fresh()
    result = ingest(con, csv_file(tmp_path, text, encoding="cp1250"))
    assert result.new_rows == 2 and stored_sites(con) == {name.encode("cp1250").decode("cp1252")}
    [note] = result.notes
    assert note.startswith(f"check names: {shown!r} reads like Central European (Windows-1250) text")
    assert '[file] encoding = "cp1250"' in note and f"  {note}" in result.summary().splitlines()


@pytest.mark.parametrize("sites", ["Clinique Hélène – Zürich", "¿Qué tal? Señora Núñez", "£5 co-pay; 10 m³ room",
                                   "Kraków", "Dr O’Brien"])
def test_western_text_gets_no_central_european_note(tmp_path, sites):
    text = export(sites, rows=2).replace(f",{sites}\n", f',"{sites}"\n')
    result = ingest(fresh(), csv_file(tmp_path, text, encoding="cp1252"))
    assert result.notes == ()


def test_a_named_encoding_gets_no_note(tmp_path):
    text = export("Łódź", rows=2)
    result = ingest(fresh(), csv_file(tmp_path, text, encoding="cp1250"),
                    mapping=mapping_file(tmp_path, '[file]\nencoding = "cp1250"\n'))
    assert result.notes == () and result.encoding == "cp1250"


def test_utf16_text_with_its_byte_order_mark_imports_and_a_broken_one_says_where(tmp_path):
    text = export("Łódź", rows=2)
    good = tmp_path / "good.csv"
    good.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    con = fresh()
    assert ingest(con, good).new_rows == 2 and stored_sites(con) == {"Łódź"}
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"\xff\xfe" + text.encode("utf-16-le") + b"\x00")       # half a character at the end
    with pytest.raises(WaypointError, match=r"broken.csv: the file is not utf-16 text as its byte-order mark says "
                                            r"\(line 4, byte [\d,]+: 00\)"):
        ingest(fresh(), broken)


def test_a_utf8_file_read_as_windows_1252_because_the_mapping_says_so_gets_a_note(tmp_path):
    from tests.ingest_helpers import csv_file, fresh, ingest

    path = csv_file(tmp_path, "patient_id,clinician_id,session_date,status\nJosé,Dr Müller,2025-01-06,attended\n")
    result = ingest(fresh(), path, mapping={"file": {"encoding": "cp1252"}})
    assert any(note.startswith("the file is valid UTF-8, yet read as Windows-1252 as asked") for note in result.notes)
    assert ingest(fresh(), path).notes == ()
