"""CDISC ODM 1.3.2 files: the study's metadata, clinical data and audit trail out; study metadata in.

``export_odm`` writes one Snapshot document (Study metadata, AdminData with users and sites,
ClinicalData with every participant's screening, ALSFRS-R, vital capacity, CSF, adverse event and
withdrawal forms) and, for roles that may read the audit trail, a Transactional document in which
every audited change to a participant's data is a SubjectData with its AuditRecord (who, where,
when, why, audit sequence number) and the change itself as an annotation. Both are checked
against the ODM 1.3.2 schema shipped with odmlib before they are written. No arm appears in
either: ODM carries what was collected, and the allocation is not collected data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from alstrial import __version__
from alstrial.errors import AlstrialError, Problem, ValidationFailed
from alstrial.interop.forms import choice_code, protocol_forms
from alstrial.interop.odm_metadata import (
    ODM_NS,
    UNSCHEDULED,
    OdmStudy,
    event_oid,
    form_oid,
    group_oid,
    item_oid,
    metadata_version,
    o,
    read_metadata,
)
from alstrial.interop.sdtm_subject import read_subject_data
from alstrial.interop.sdtm_timing import iso
from alstrial.protocol.models import Protocol
from alstrial.services import policy
from alstrial.services.actor import Actor
from alstrial.services.context import CaptureDB, transaction
from alstrial.services.exceptions import PermissionDenied
from alstrial.store.models import AuditRecord, Participant, Site, User

MDV_OID = "MDV.1"


class OdmInvalid(AlstrialError):
    """An ODM document does not conform to the ODM 1.3.2 schema."""


@lru_cache(maxsize=1)
def _schema() -> etree.XMLSchema:
    path = Path(str(resources.files("odmlib") / "schemas" / "odm" / "1.3.2" / "ODM1-3-2.xsd"))
    return etree.XMLSchema(etree.parse(str(path)))


def validate_odm(document: bytes) -> None:
    """Raise :class:`OdmInvalid` listing the schema errors (line and message) of an ODM document."""
    schema = _schema()
    if not schema.validate(etree.fromstring(document)):
        errors = "\n".join(f"  line {e.line}: {e.message}" for e in list(schema.error_log)[:20])
        raise OdmInvalid(f"the document does not conform to ODM 1.3.2:\n{errors}")


def _root(protocol: Protocol, file_type: str, suffix: str) -> etree._Element:
    now = datetime.now(UTC).replace(microsecond=0).isoformat()
    root = etree.Element(o("ODM"), nsmap={None: ODM_NS})
    for key, value in {
        "FileType": file_type,
        "FileOID": f"ODM.{protocol.id}.{suffix}",
        "CreationDateTime": now,
        "ODMVersion": "1.3.2",
        "Originator": "alstrial",
        "SourceSystem": "alstrial",
        "SourceSystemVersion": __version__,
    }.items():
        root.set(key, value)
    return root


def _study(root: etree._Element, protocol: Protocol) -> etree._Element:
    study = etree.SubElement(root, o("Study"), OID=protocol.id)
    gv = etree.SubElement(study, o("GlobalVariables"))
    etree.SubElement(gv, o("StudyName")).text = protocol.id
    etree.SubElement(gv, o("StudyDescription")).text = protocol.title
    etree.SubElement(gv, o("ProtocolName")).text = protocol.id
    return study


def _admin(root: etree._Element, protocol: Protocol, session: Session) -> None:
    admin = etree.SubElement(root, o("AdminData"), StudyOID=protocol.id)
    for username, full_name in session.execute(select(User.username, User.full_name).order_by(User.id)):
        user = etree.SubElement(admin, o("User"), OID=f"USR.{username}")
        etree.SubElement(user, o("LoginName")).text = username
        etree.SubElement(user, o("FullName")).text = full_name
    for code, name in session.execute(select(Site.code, Site.name).order_by(Site.code)):
        loc = etree.SubElement(admin, o("Location"), OID=f"LOC.{code}", Name=name, LocationType="Site")
        ref = etree.SubElement(loc, o("MetaDataVersionRef"), StudyOID=protocol.id, MetaDataVersionOID=MDV_OID)
        ref.set("EffectiveDate", date.today().isoformat())


def _value(v: object) -> str | None:
    if v is None or (isinstance(v, float) and v != v):
        return None
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, datetime | date):
        return iso(v)
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


class _Clinical:
    """Builds SubjectData elements in ODM order: one StudyEventData per event, FormData per form."""

    def __init__(self, clinical: etree._Element) -> None:
        self.clinical = clinical
        self.subjects: dict[str, etree._Element] = {}
        self.events: dict[tuple[str, str, str], etree._Element] = {}

    def subject(self, code: str, site: str) -> etree._Element:
        if code not in self.subjects:
            sd = etree.SubElement(self.clinical, o("SubjectData"), SubjectKey=code)
            etree.SubElement(sd, o("SiteRef"), LocationOID=f"LOC.{site}")
            self.subjects[code] = sd
        return self.subjects[code]

    def form(self, code: str, event: str, form: str, values: dict[str, object], repeat: str = "1") -> None:
        items = [(k, _value(v)) for k, v in values.items()]
        items = [(k, v) for k, v in items if v is not None]
        if not items:
            return
        key = (code, event, repeat if event in UNSCHEDULED.values() else "1")
        if key not in self.events:
            se = etree.SubElement(self.subjects[code], o("StudyEventData"), StudyEventOID=event_oid(event))
            if event in UNSCHEDULED.values():
                se.set("StudyEventRepeatKey", repeat)
            self.events[key] = se
        fd = etree.SubElement(self.events[key], o("FormData"), FormOID=form_oid(form))
        ig = etree.SubElement(fd, o("ItemGroupData"), ItemGroupOID=group_oid(form))
        for name, value in items:
            etree.SubElement(ig, o("ItemData"), ItemOID=item_oid(name), Value=value)


def _clinical_data(root: etree._Element, protocol: Protocol, session: Session) -> int:
    data = read_subject_data(session, with_arms=False)
    clinical = etree.SubElement(root, o("ClinicalData"), StudyOID=protocol.id, MetaDataVersionOID=MDV_OID)
    build = _Clinical(clinical)
    p = data.participants
    code_of = dict(zip(p["id"], p["code"], strict=True))
    first_visit = protocol.visits[0].code
    for row in p.to_dict("records"):
        build.subject(row["code"], row["site"])
        values = json.loads(row["screening_json"])
        screening = {"screened_on": row["screened_on"], "consent_date": row["consent_date"], "site": row["site"]}
        build.form(row["code"], first_visit, "screening", screening | values)
    visits = data.visits.set_index("id")
    for row in data.alsfrs.to_dict("records"):
        v = visits.loc[row["visit_record_id"]]
        values = {
            "alsfrs_date": row["assessed_on"],
            "alsfrs_gastrostomy": row["q5b"] is not None and row["q5b"] == row["q5b"],
        }
        values |= {
            f"alsfrs_{k}": (None if row[k] is None or row[k] != row[k] else int(row[k]))
            for k in map(str, row)
            if k.startswith("q")
        }
        values["alsfrs_total"] = row["total"]
        build.form(code_of[v["participant_id"]], v["visit_code"], "alsfrs_r", values)
    for row in data.vital_capacity.to_dict("records"):
        v = visits.loc[row["visit_record_id"]]
        values = {
            "vc_test": row["test"],
            "vc_liters": row["liters"],
            "vc_percent_predicted": row["percent_predicted"],
            "vc_position": row["position"],
        }
        build.form(code_of[v["participant_id"]], v["visit_code"], "vital_capacity", values)
    for (pid, visit, sample), g in data.labs.groupby(["participant_id", "visit_code", "sample_id"], sort=False):
        values = {
            "csf_sample_id": sample,
            "csf_collected_at": g["collected_at"].iloc[0],
            "csf_assay": g["assay"].iloc[0],
        }
        for r in g.to_dict("records"):
            values[f"{r['analyte'].lower()}_value"] = r["value_original"]
            values[f"{r['analyte'].lower()}_below_lloq"] = bool(r["below_lloq"])
        build.form(code_of[pid], str(visit), "csf_labs", values)

    for i, r in enumerate(data.adverse_events.to_dict("records"), start=1):
        criteria = [
            c
            for c in (
                "death",
                "life_threatening",
                "hospitalization",
                "disability",
                "congenital_anomaly",
                "medically_important",
            )
            if r.get(f"sae_{c}")
        ]
        values = {
            "ae_term": r["term"],
            "ae_onset_date": r["onset_date"],
            "ae_resolution_date": r["resolution_date"],
            "ae_serious": bool(r["serious"]),
            "ae_criteria": ",".join(criteria) or None,
            "ae_severity": choice_code(r["severity"]),
            "ae_relatedness": choice_code(r["relatedness"]),
            "ae_action_taken": choice_code(r["action_taken"]),
            "ae_outcome": choice_code(r["outcome"]),
        }
        build.form(code_of[r["participant_id"]], UNSCHEDULED["adverse_event"], "adverse_event", values, str(i))
    for r in data.withdrawals.to_dict("records"):
        values = {
            "withdrawn_on": r["withdrawn_on"],
            "reason_code": choice_code(r["reason_code"]),
            "reason_text": r["reason_text"],
        }
        build.form(code_of[r["participant_id"]], UNSCHEDULED["study_withdrawal"], "study_withdrawal", values)
    return len(build.subjects)


def _audit_document(protocol: Protocol, session: Session) -> tuple[bytes, int, int]:
    """A Transactional ODM of the audit trail: one SubjectData per audited change to a participant's data."""
    root = _root(protocol, "Transactional", "AUDIT")
    site_of = dict(
        session.execute(select(Participant.code, Site.code).join(Site, Site.id == Participant.site_id)).all()
    )
    records = session.execute(select(AuditRecord).order_by(AuditRecord.seq)).scalars().all()
    clinical = None
    written = skipped = 0
    for rec in records:
        if not rec.participant_code or rec.participant_code not in site_of:
            skipped += 1
            continue
        if clinical is None:
            clinical = etree.SubElement(root, o("ClinicalData"), StudyOID=protocol.id, MetaDataVersionOID=MDV_OID)
        kind = "Insert" if rec.action.endswith((".create", ".record", ".screen")) else "Update"
        sd = etree.SubElement(clinical, o("SubjectData"), SubjectKey=rec.participant_code, TransactionType=kind)
        ar = etree.SubElement(sd, o("AuditRecord"), UsedImputationMethod="No")
        edit_point = {"data_manager": "DataManagement", "monitor": "Monitoring"}.get(rec.role)
        if edit_point:  # ODM's EditPoint has no value for site data entry: left out there
            ar.set("EditPoint", edit_point)
        etree.SubElement(ar, o("UserRef"), UserOID=f"USR.{rec.username}")
        etree.SubElement(ar, o("LocationRef"), LocationOID=f"LOC.{site_of[rec.participant_code]}")
        etree.SubElement(ar, o("DateTimeStamp")).text = rec.at.astimezone(UTC).isoformat()
        if rec.reason:
            etree.SubElement(ar, o("ReasonForChange")).text = rec.reason
        etree.SubElement(ar, o("SourceID")).text = f"audit seq {rec.seq} (hash {rec.hash[:16]})"
        etree.SubElement(sd, o("SiteRef"), LocationOID=f"LOC.{site_of[rec.participant_code]}")
        note = etree.SubElement(sd, o("Annotation"), SeqNum="1")
        comment = f"{rec.action} {rec.entity} {rec.entity_id} by {rec.username} ({rec.role}): {rec.changes}"
        etree.SubElement(note, o("Comment")).text = comment
        written += 1
    doc = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return doc, written, skipped


@dataclass(frozen=True)
class OdmExport:
    files: tuple[Path, ...]
    subjects: int
    audit_records: int = 0
    audit_skipped: int = 0

    def __str__(self) -> str:
        lines = [f"wrote {', '.join(str(f) for f in self.files)}", f"  {self.subjects} subject(s) in ClinicalData"]
        if len(self.files) > 1:
            lines.append(f"  {self.audit_records} audit record(s) of participant data")
            if self.audit_skipped:
                lines.append(
                    f"  {self.audit_skipped} audit record(s) not about a participant (users, sites, lock) left out"
                )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        return {"files": [str(f) for f in self.files], "subjects": self.subjects, "audit_records": self.audit_records}


def odm_document(session: Session, protocol: Protocol) -> tuple[bytes, int]:
    """The Snapshot ODM (metadata, admin data, clinical data) of the trial, schema-checked."""
    root = _root(protocol, "Snapshot", "SNAPSHOT")
    study = _study(root, protocol)
    study.append(metadata_version(protocol, protocol_forms(protocol), MDV_OID))
    _admin(root, protocol, session)
    subjects = _clinical_data(root, protocol, session)
    doc = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    validate_odm(doc)
    return doc, subjects


def export_odm(db: CaptureDB, actor: Actor, out_dir: Path) -> OdmExport:
    """Write ``<study>.odm.xml`` and, for roles that may read the audit trail, ``<study>.audit.odm.xml``."""
    if policy.is_site_bound(actor.role):
        raise PermissionDenied(f"{actor} may not export ODM: the export covers every site")
    with transaction(db, actor, policy.Permission.READ) as tx:
        session, protocol = tx.session, tx.protocol
        doc, subjects = odm_document(session, protocol)
        audit = None
        if policy.can(actor.role, policy.Permission.READ_AUDIT):
            audit = _audit_document(protocol, session)
            validate_odm(audit[0])
    out_dir.mkdir(parents=True, exist_ok=True)
    files = [out_dir / f"{protocol.id.lower()}.odm.xml"]
    files[0].write_bytes(doc)
    if audit is not None:
        files.append(out_dir / f"{protocol.id.lower()}.audit.odm.xml")
        files[1].write_bytes(audit[0])
        return OdmExport(tuple(files), subjects, audit[1], audit[2])
    return OdmExport(tuple(files), subjects)


# -- reading -------------------------------------------------------------------------------------------
def parse_odm(data: bytes, what: str = "ODM file") -> tuple[etree._Element, list[str]]:
    """The root of an ODM document and notes on what was tolerated (a missing namespace, undeclared prefixes).

    Malformed or truncated XML is refused with its line.
    """
    notes: list[str] = []
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        if "Namespace prefix" in str(exc) and "not defined" in str(exc):
            # files in the wild use prefixes they never declare (xs:schemaLocation); the data is still intact
            root = etree.fromstring(data, etree.XMLParser(recover=True, resolve_entities=False, no_network=True))
            notes.append(f"undeclared namespace prefix ignored ({exc.msg})")
        else:
            raise ValidationFailed(
                [Problem(what, f"line {exc.lineno}", f"is not well-formed XML: {exc.msg}; is it truncated?")]
            ) from None
    if root is None:
        raise ValidationFailed([Problem(what, None, "holds no XML element")])
    if etree.QName(root).namespace is None:
        for el in root.iter():
            if isinstance(el.tag, str) and etree.QName(el).namespace is None:
                el.tag = o(el.tag)
        notes.append("the file declares no ODM namespace: read as ODM 1.3")
    if etree.QName(root).localname != "ODM" or etree.QName(root).namespace != ODM_NS:
        raise ValidationFailed([Problem(what, root.tag, f"is not an ODM document (expected <ODM> in {ODM_NS})")])
    version = root.get("ODMVersion", "")
    if not version.startswith("1.3"):
        raise ValidationFailed([Problem(f"{what} ODMVersion", version, "only ODM 1.3.x is read")])
    return root, notes


def import_study_metadata(data: bytes, what: str = "ODM file") -> OdmStudy:
    """The forms of an ODM file's study metadata, every feature that is not carried over reported."""
    root, notes = parse_odm(data, what)
    return read_metadata(root, notes)
