"""define.xml 2.1: valid against the Define-XML 2.1 schema (shipped with odmlib), and in step with the XPT files."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
import xmlschema
from exported_trial import ExportedTrial, exported_fixture, pg_trial_fixture, sqlite_trial_fixture  # noqa: F401
from lxml import etree

from alstrial.interop.define_xml import DEF_NS, ODM_NS, DefineInvalid, validate_define
from alstrial.interop.xpt import read_xpt

NS = {"odm": ODM_NS, "def": DEF_NS}
SCHEMA = Path(str(resources.files("odmlib") / "schemas" / "define" / "2.1" / "define2-1-0.xsd"))


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(SCHEMA))


@pytest.mark.parametrize("kind", ["sdtm", "adam", "blinded"])
def test_define_is_valid_against_the_define_xml_2_1_schema(
    exported: ExportedTrial, schema: xmlschema.XMLSchema, kind: str
) -> None:
    """Checked with xmlschema, a second validator besides the lxml check the export itself runs."""
    path = getattr(exported, kind) / "define.xml"
    schema.validate(str(path))


@pytest.mark.parametrize("kind", ["sdtm", "adam"])
def test_define_lists_every_variable_of_every_file_in_order(sqlite_trial: ExportedTrial, kind: str) -> None:
    folder = getattr(sqlite_trial, kind)
    tree = etree.parse(str(folder / "define.xml"))
    items = {i.get("OID"): i for i in tree.iterfind(".//odm:ItemDef", NS)}
    groups = list(tree.iterfind(".//odm:ItemGroupDef", NS))
    assert {f"{g.get('Name').lower()}.xpt" for g in groups} == {p.name for p in folder.glob("*.xpt")}
    for group in groups:
        frame, labels, _ = read_xpt(folder / f"{group.get('Name').lower()}.xpt")
        refs = sorted(group.iterfind("odm:ItemRef", NS), key=lambda r: int(r.get("OrderNumber")))
        names = [items[r.get("ItemOID")].get("Name") for r in refs]
        assert names == list(frame.columns), group.get("Name")
        for ref in refs:
            item = items[ref.get("ItemOID")]
            name = item.get("Name")
            text = item.find("odm:Description/odm:TranslatedText", NS).text
            assert text == labels[name]
            if item.get("DataType") == "text":
                longest = max((len(str(v)) for v in frame[name]), default=1)
                assert int(item.get("Length")) >= longest
        leaf = group.find("def:leaf", NS)
        assert leaf.get("{http://www.w3.org/1999/xlink}href") == f"{group.get('Name').lower()}.xpt"


def test_sponsor_defined_alsfrs_codes_are_documented(sqlite_trial: ExportedTrial) -> None:
    tree = etree.parse(str(sqlite_trial.sdtm / "define.xml"))
    codelist = tree.find(".//odm:CodeList[@OID='CL.QSTESTCD']", NS)
    assert codelist is not None
    codes = {i.get("CodedValue") for i in codelist.iterfind("odm:CodeListItem", NS)}
    assert {"ALSR01", "ALSR05A", "ALSR05B", "ALSRTOT"} <= codes


def test_an_invalid_document_is_refused_with_the_line(sqlite_trial: ExportedTrial) -> None:
    doc = (sqlite_trial.sdtm / "define.xml").read_bytes()
    broken = doc.replace(b'Repeating="No"', b'Repeating="Sometimes"', 1)
    with pytest.raises(DefineInvalid, match=r"line \d+"):
        validate_define(broken)


def test_comments_say_what_is_not_standard_and_what_a_blinded_file_withholds(sqlite_trial: ExportedTrial) -> None:
    def comments(folder: Path) -> dict[str, str]:
        tree = etree.parse(str(folder / "define.xml"))
        texts = {
            c.get("OID"): c.findtext("odm:Description/odm:TranslatedText", namespaces=NS)
            for c in tree.iterfind(".//def:CommentDef", NS)
        }
        refs = tree.xpath("//*[@def:CommentOID]", namespaces=NS)
        assert {r.get(f"{{{DEF_NS}}}CommentOID") for r in refs} == set(texts)  # every comment is used
        return {r.get("OID"): texts[r.get(f"{{{DEF_NS}}}CommentOID")] for r in refs}

    unblinded = comments(sqlite_trial.sdtm)
    assert "not MedDRA-coded" in unblinded["IT.AE.AEDECOD"] and "IG.EX" not in unblinded
    blinded = comments(sqlite_trial.blinded)
    assert "withheld until unblinding" in blinded["IG.DM"] and "EXTRT" in blinded["IG.EX"]
