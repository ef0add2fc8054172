"""REDCap data dictionaries: the export REDCap expects, the round trip back to the same forms and protocol,
a real dictionary written by others, and malformed files refused with a clear message."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from alstrial.errors import ValidationFailed
from alstrial.instruments.alsfrs_r import ITEMS
from alstrial.interop.forms import protocol_forms
from alstrial.interop.redcap_dictionary import COLUMNS, dictionary_csv, parse_dictionary
from alstrial.interop.redcap_protocol import draft_protocol, protocol_toml
from alstrial.protocol import load_protocol, parse_protocol

MESULAM = (
    Path(__file__).resolve().parents[1]
    / "data"
    / "redcap"
    / "MesulamCenterRegistrySurvey_DataDictionary_2025-07-15.csv"
)
HEADER = (
    "Variable / Field Name,Form Name,Section Header,Field Type,Field Label,"
    '"Choices, Calculations, OR Slider Labels",Field Note,Text Validation Type OR Show Slider Number,'
    "Text Validation Min,Text Validation Max,Identifier?,Branching Logic (Show field only if...),"
    "Required Field?,Custom Alignment,Question Number (surveys only),Matrix Group Name,Matrix Ranking?,"
    "Field Annotation"
)


@pytest.fixture(scope="module")
def exported() -> str:
    return dictionary_csv(protocol_forms(load_protocol()))


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_header_is_redcaps_18_columns_exactly(exported: str) -> None:
    assert exported.splitlines()[0] == HEADER
    assert len(COLUMNS) == 18


def test_alsfrs_items_are_radio_fields_with_the_anchors_and_5a_5b_branching(exported: str) -> None:
    rows = {r["Variable / Field Name"]: r for r in _rows(exported)}
    q1 = rows["alsfrs_q1"]
    assert q1["Field Type"] == "radio" and q1["Form Name"] == "alsfrs_r" and q1["Required Field?"] == "y"
    choices = [c.strip().split(", ", 1) for c in q1["Choices, Calculations, OR Slider Labels"].split("|")]
    item1 = next(i for i in ITEMS if i.code == "q1")
    assert choices == [[str(s), item1.anchors[s]] for s in (4, 3, 2, 1, 0)]
    assert rows["alsfrs_q5a"]["Branching Logic (Show field only if...)"] == "[alsfrs_gastrostomy] = '0'"
    assert rows["alsfrs_q5b"]["Branching Logic (Show field only if...)"] == "[alsfrs_gastrostomy] = '1'"
    assert rows["alsfrs_total"]["Field Type"] == "calc"
    assert rows["alsfrs_total"]["Choices, Calculations, OR Slider Labels"].startswith("sum([alsfrs_q1],")


def test_what_redcap_requires_of_names_choices_and_validation(exported: str) -> None:
    rows = _rows(exported)
    assert rows[0]["Variable / Field Name"] == "record_id"  # REDCap's first field is the record ID
    validations = {r["Text Validation Type OR Show Slider Number"] for r in rows} - {""}
    assert validations <= {"integer", "number", "date_ymd", "datetime_ymd"}
    for r in rows:
        assert r["Variable / Field Name"].islower() and r["Form Name"].islower()
        if r["Field Type"] in ("radio", "dropdown", "checkbox"):
            for choice in r["Choices, Calculations, OR Slider Labels"].split("|"):
                code = choice.split(",", 1)[0].strip()
                assert code.replace("_", "").isalnum(), (r["Variable / Field Name"], code)
    assert {r["Field Type"] for r in rows} == {"text", "radio", "dropdown", "yesno", "calc", "checkbox", "notes"}


def test_export_reimports_to_the_same_forms_and_the_same_protocol(exported: str) -> None:
    protocol = load_protocol()
    again = parse_dictionary(exported.encode("utf-8"))
    assert again.forms == protocol_forms(protocol)
    assert again.unsupported == ()
    draft = draft_protocol(again, protocol)
    assert draft.protocol == protocol and draft.unsupported == ()
    assert parse_protocol(protocol_toml(draft.protocol)) == protocol


def test_a_byte_order_mark_is_accepted(exported: str) -> None:
    assert parse_dictionary(b"\xef\xbb\xbf" + exported.encode("utf-8")).forms == protocol_forms(load_protocol())


def test_a_real_dictionary_reads_and_every_unsupported_feature_is_reported() -> None:
    d = parse_dictionary(MESULAM.read_bytes())
    assert len(d.fields) == 260 and len(d.forms) == 11
    by_feature: dict[str, set[str]] = {}
    for u in d.unsupported:
        by_feature.setdefault(u.feature, set()).add(u.field)
    assert {"validation 'email'", "validation 'date_mdy'", "validation 'phone'", "action tags", "calculation"} <= set(
        by_feature
    )
    calc = next(u for u in d.unsupported if u.feature == "calculation")
    assert "datediff" in calc.detail
    draft = draft_protocol(d, load_protocol(), screening_form="research_screening")
    assert draft.protocol.screening_fields  # radio/yes-no/number fields became screening fields
    assert any(u.feature == "screening field" for u in draft.unsupported)  # free text, dates ... reported
    assert any(u.feature.startswith("eligibility criterion") for u in draft.unsupported)
    assert "research_screening" not in {a.code for a in draft.protocol.assessments}
    assert "consent" in {a.code for a in draft.protocol.assessments}


def _expect(data: bytes, *fragments: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        parse_dictionary(data)
    text = str(err.value)
    for fragment in fragments:
        assert fragment in text, text


def test_a_wrong_header_is_refused_naming_the_column(exported: str) -> None:
    bad = exported.replace("Field Label", "Label", 1).encode()
    _expect(bad, "missing ['Field Label']", "unexpected ['Label']")
    swapped = exported.replace("Form Name,Section Header", "Section Header,Form Name", 1).encode()
    _expect(swapped, "column 2 is 'Section Header', expected 'Form Name' (columns out of order)")
    _expect(exported.replace(',"Choices, Calculations, OR Slider Labels"', "", 1).encode(), "17 columns, expected 18")


def test_other_encodings_are_refused_with_the_byte_position(exported: str) -> None:
    data = exported.replace("Participant code", "Code du participant é").encode("cp1252", errors="replace")
    _expect(data, "is not UTF-8 at byte")


def test_a_truncated_file_is_refused(exported: str) -> None:
    data = exported.encode()
    cut = data[: data.index(b"sum([alsfrs_q1]") + 5]  # inside a quoted field
    _expect(cut, "looks truncated")
    lines = exported.splitlines()
    _expect(
        ("\r\n".join(lines[:5]) + "\r\n" + lines[5][:30]).encode(),
        "line 6",
        "the header has 18",
        "is the file truncated",
    )


def test_unknown_types_bad_names_choices_and_duplicates_are_all_listed(exported: str) -> None:
    rows = exported.splitlines()
    bad = [
        rows[0],
        "record_id,screening,,text,Code,,,,,,,,,,,,,",
        "Age,screening,,text,Age,,,integer,,,,,,,,,,",
        'sex,screening,,radiobutton,Sex,"1, F | 2, M",,,,,,,,,,,,',
        "onset,screening,,radio,Onset,limb bulbar,,,,,,,,,,,,",
        "record_id,screening,,text,Again,,,,,,,,,,,,,",
    ]
    _expect(
        "\r\n".join(bad).encode(),
        "line 3, Variable / Field Name: value 'Age'",
        "line 4, Field Type: value 'radiobutton' — unknown REDCap field type",
        "line 5, choices of onset",
        "line 6, Variable / Field Name: value 'record_id' — defined twice",
    )
