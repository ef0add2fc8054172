"""CDISC ODM 1.3.2: export valid against the schema (odmlib's XSD, checked with xmlschema), clinical data and
audit records that match the database, study metadata round trip, files written by others, malformed files."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
import xmlschema
from exported_trial import ExportedTrial, exported_fixture, pg_trial_fixture, sqlite_trial_fixture  # noqa: F401
from lxml import etree
from sqlalchemy import func, select

from alstrial.errors import ValidationFailed
from alstrial.interop.forms import protocol_forms
from alstrial.interop.odm import export_odm, import_study_metadata
from alstrial.interop.redcap_protocol import draft_protocol
from alstrial.protocol import load_protocol
from alstrial.services.context import CaptureDB
from alstrial.services.exceptions import PermissionDenied
from alstrial.services.users import authenticate
from alstrial.store.models import AlsfrsAssessment, AuditRecord, Participant

DATA = Path(__file__).resolve().parents[1] / "data" / "odm"
SCHEMA = Path(str(resources.files("odmlib") / "schemas" / "odm" / "1.3.2" / "ODM1-3-2.xsd"))
NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(SCHEMA))


def _export(trial: ExportedTrial, user: str, out: Path) -> tuple[list[Path], dict[str, object]]:
    db = CaptureDB.from_url(trial.url)
    try:
        result = export_odm(db, authenticate(db, user, trial.password), out)
        with db.sessions() as s:
            counts = {
                "participants": s.execute(select(func.count(Participant.id))).scalar(),
                "alsfrs": sorted(s.execute(select(AlsfrsAssessment.total)).scalars()),
                "audit": s.execute(
                    select(func.count(AuditRecord.seq)).where(AuditRecord.participant_code.is_not(None))
                ).scalar(),
            }
    finally:
        db.dispose()
    return list(result.files), counts


def test_the_export_is_valid_odm_and_holds_the_clinical_data_and_audit_trail(
    exported: ExportedTrial, tmp_path: Path, schema: xmlschema.XMLSchema
) -> None:
    files, counts = _export(exported, "x_dm", tmp_path)
    assert [f.name for f in files] == ["msc-als-p3.odm.xml", "msc-als-p3.audit.odm.xml"]
    for f in files:
        schema.validate(str(f))
    snap = etree.parse(str(files[0]))
    assert len(snap.findall(".//odm:SubjectData", NS)) == counts["participants"]
    totals = sorted(int(v) for v in snap.xpath(".//odm:ItemData[@ItemOID='IT.alsfrs_total']/@Value", namespaces=NS))
    assert totals == counts["alsfrs"]
    values = set(snap.xpath(".//odm:ItemData/@Value", namespaces=NS))
    assert not values & {"MSC", "PBO", "Autologous MSC", "Placebo"}  # the allocation is not collected data
    audit = etree.parse(str(files[1]))
    records = audit.findall(".//odm:AuditRecord", NS)
    assert len(records) == counts["audit"] > 0
    first = records[0]
    assert first.find("odm:UserRef", NS).get("UserOID").startswith("USR.")
    assert first.find("odm:LocationRef", NS).get("LocationOID").startswith("LOC.S0")
    assert first.findtext("odm:SourceID", namespaces=NS).startswith("audit seq ")


def test_roles_without_the_audit_permission_get_no_audit_file_and_site_roles_none(
    sqlite_trial: ExportedTrial, tmp_path: Path
) -> None:
    files, _ = _export(sqlite_trial, "x_stat", tmp_path / "x_stat")
    assert [f.name for f in files] == ["msc-als-p3.odm.xml"]
    with pytest.raises(PermissionDenied, match="every site"):
        _export(sqlite_trial, "x_inv", tmp_path / "inv")
    assert not (tmp_path / "inv").exists()


def test_study_metadata_round_trips_to_the_same_forms_and_protocol(sqlite_trial: ExportedTrial, tmp_path: Path) -> None:
    files, _ = _export(sqlite_trial, "x_stat", tmp_path)
    study = import_study_metadata(files[0].read_bytes())
    protocol = load_protocol()
    assert study.forms.forms == protocol_forms(protocol)
    assert study.forms.unsupported == () and study.notes == ()
    assert draft_protocol(study.forms, protocol).protocol == protocol


def test_metadata_written_by_others_reads_with_its_limits_reported() -> None:
    study = import_study_metadata((DATA / "odm-data-snapshot.xml").read_bytes())
    assert study.study_oid == "1001_virus"
    assert len(study.forms.forms) == 7 and len(study.forms.fields) == 52
    assert {u.feature for u in study.forms.unsupported} == {"repeating item group"}
    coded = [f for f in study.forms.fields if f.choices]
    assert coded and all(f.type == "radio" for f in coded)


def test_a_file_with_dangling_references_is_refused_naming_each() -> None:
    """odmlib's test_odm_001.xml declares no namespace, uses an undeclared prefix and refers to missing defs."""
    with pytest.raises(ValidationFailed) as err:
        import_study_metadata((DATA / "test_odm_001.xml").read_bytes())
    text = str(err.value)
    assert "ODM.IG.Common' — refers to an ItemGroupDef that does not exist" in text
    assert "ODM.IT.DM.SEX' — refers to an ItemDef that does not exist" in text


def test_a_namespaceless_file_with_an_undeclared_prefix_is_read_with_notes() -> None:
    data = (
        b'<?xml version="1.0"?><ODM ODMVersion="1.3.2" FileOID="F" xs:schemaLocation="x"><Study OID="S">'
        b'<MetaDataVersion OID="M" Name="M"><FormDef OID="F.A" Name="A" Repeating="No">'
        b'<ItemGroupRef ItemGroupOID="G" Mandatory="Yes"/></FormDef><ItemGroupDef OID="G" Name="G" Repeating="No">'
        b'<ItemRef ItemOID="I.AGE" Mandatory="Yes"/></ItemGroupDef>'
        b'<ItemDef OID="I.AGE" Name="Age" DataType="integer"/></MetaDataVersion></Study></ODM>'
    )
    study = import_study_metadata(data)
    assert [(f.name, f.type, f.validation, f.required) for f in study.forms.fields] == [
        ("i_age", "text", "integer", True)
    ]
    assert any("no ODM namespace" in n for n in study.notes)
    assert any("undeclared namespace prefix" in n for n in study.notes)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ((DATA / "odm-data-snapshot.xml").read_bytes()[:5000], "is not well-formed XML"),
        (b"<?xml version='1.0' encoding='UTF-8'?><ODM xmlns='http://www.cdisc.org/ns/odm/v1.3' ODMVersion='1.3.2'>"
         b"<Study OID='caf\xe9'/></ODM>", "is not well-formed XML"),
        (b"<define/>", "is not an ODM document"),
        (b"<ODM xmlns='http://www.cdisc.org/ns/odm/v1.3' ODMVersion='2.0'/>", "only ODM 1.3.x"),
        (b"<ODM xmlns='http://www.cdisc.org/ns/odm/v1.3' ODMVersion='1.3.2'/>", "has no Study"),
        (b"", "is not well-formed XML"),
    ],
)  # fmt: skip
def test_malformed_odm_files_are_refused_with_a_clear_message(data: bytes, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        import_study_metadata(data)


def test_a_byte_order_mark_is_accepted() -> None:
    data = b"\xef\xbb\xbf" + (DATA / "odm-data-snapshot.xml").read_bytes()
    assert len(import_study_metadata(data).forms.fields) == 52
