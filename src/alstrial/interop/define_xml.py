"""define.xml 2.1: the metadata of an SDTM or ADaM package, valid against the Define-XML 2.1 schema.

Built with lxml from the same :class:`~alstrial.interop.package.Package` the XPT files are written
from, so the two cannot disagree: every dataset is an ``ItemGroupDef`` pointing at its file, every
variable an ``ItemDef`` with its data type and the length of its longest value. The schema files
ship with ``odmlib`` (``odmlib/schemas/define/2.1``); :func:`validate_define` checks a document
against them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path

import pandas as pd
from lxml import etree

from alstrial import __version__
from alstrial.errors import AlstrialError
from alstrial.interop.package import Dataset, Package

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
DEF_NS = "http://www.cdisc.org/ns/def/v2.1"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_NS = "http://www.w3.org/XML/1998/namespace"
NSMAP = {None: ODM_NS, "def": DEF_NS, "xlink": XLINK_NS}

_STANDARDS = {"SDTM": ("SDTMIG", "3.4"), "ADaM": ("ADaMIG", "1.3")}
_DERIVED = re.compile(r"^(..)(SEQ|DY|STDY|ENDY)$|^EPOCH$|^(..)LOBXFL$|^(..)DRVFL$|^(..)STRES[CNU]$")
_ASSIGNED = {"STUDYID", "DOMAIN", "RDOMAIN", "QORIG", "QEVAL", "QNAM", "QLABEL", "IDVAR", "AGEU", "COUNTRY"}


class DefineInvalid(AlstrialError):
    """A define.xml document does not conform to the Define-XML 2.1 schema."""


def _o(tag: str) -> str:
    return f"{{{ODM_NS}}}{tag}"


def _d(tag: str) -> str:
    return f"{{{DEF_NS}}}{tag}"


def _text(parent: etree._Element, tag: str, text: str) -> etree._Element:
    el = etree.SubElement(parent, tag)
    tt = etree.SubElement(el, _o("TranslatedText"))
    tt.set(f"{{{XML_NS}}}lang", "en")
    tt.text = text
    return el


def _data_type(series: pd.Series, name: str) -> tuple[str, int, int | None]:
    """(DataType, Length, SignificantDigits) from the values actually present."""
    if pd.api.types.is_numeric_dtype(series):
        values = series.dropna().astype(float)
        if values.empty or all(v.is_integer() for v in values):
            width = max((len(str(int(v))) for v in values), default=1)
            return "integer", max(width, 1), None
        digits = max(len(f"{v:.10g}".split(".")[1]) if "." in f"{v:.10g}" else 0 for v in values)
        width = max(len(f"{v:.10g}") for v in values)
        return "float", max(width, 1), max(digits, 1)
    texts = [t for t in series.astype(str) if t]
    length = max((len(t.encode("utf-8")) for t in texts), default=1)
    if name.endswith("DTC") and texts:
        kind = "datetime" if any("T" in t for t in texts) else "date"
        return kind, length, None
    return "text", max(length, 1), None


def _origin(package: Package, dataset: Dataset, name: str) -> tuple[str, str | None]:
    if package.standard == "ADaM":
        return ("Predecessor", None) if name in ("STUDYID", "USUBJID", "SITEID") else ("Derived", "Sponsor")
    if dataset.spec.cls == "TRIAL DESIGN":
        return "Protocol", None
    if name in _ASSIGNED or name.endswith("TESTCD") or name.endswith("TEST") or name in ("QSCAT", "LBCAT"):
        return "Assigned", "Sponsor"
    if _DERIVED.match(name) or name.startswith("RF") or name in ("DTHFL", "ARMNRS", "ACTARMCD", "ACTARM", "USUBJID"):
        return "Derived", "Sponsor"
    return "Collected", "Investigator"


def build_define(package: Package, *, created: datetime | None = None) -> etree._Element:
    """The define.xml tree of a package."""
    created = created or datetime.now(UTC)
    study_oid = f"ST.{package.study_id}"
    ig_name, ig_version = _STANDARDS[package.standard]
    root = etree.Element(_o("ODM"), nsmap=NSMAP)
    root.set("FileType", "Snapshot")
    root.set("FileOID", f"DEF.{package.study_id}.{package.standard}")
    root.set("ODMVersion", "1.3.2")
    root.set("CreationDateTime", created.replace(microsecond=0).isoformat())
    root.set("Originator", "alstrial")
    root.set("SourceSystem", "alstrial")
    root.set("SourceSystemVersion", __version__)
    root.set(_d("Context"), "Submission")
    study = etree.SubElement(root, _o("Study"), OID=study_oid)
    gv = etree.SubElement(study, _o("GlobalVariables"))
    etree.SubElement(gv, _o("StudyName")).text = package.study_id
    etree.SubElement(gv, _o("StudyDescription")).text = package.study_name
    etree.SubElement(gv, _o("ProtocolName")).text = package.study_id
    mdv = etree.SubElement(
        study,
        _o("MetaDataVersion"),
        OID=f"MDV.{package.study_id}.{package.standard}",
        Name=f"{package.study_id} {package.standard}",
        Description=f"{package.standard} datasets of {package.study_id}"
        + ("" if package.with_arms else " (blinded: arm-revealing variables withheld)"),
    )
    mdv.set(_d("DefineVersion"), "2.1.0")
    stds = etree.SubElement(mdv, _d("Standards"))
    std = etree.SubElement(stds, _d("Standard"), OID="STD.1", Name=ig_name, Type="IG", Version=ig_version)
    std.set("Status", "Final")

    item_defs: list[etree._Element] = []
    codelist_refs: set[str] = set()
    for ds in package.datasets:
        ig = etree.SubElement(mdv, _o("ItemGroupDef"), OID=f"IG.{ds.name}", Name=ds.name)
        ig.set("Repeating", "No" if ds.spec.structure.startswith("One record per subject") else "Yes")
        ig.set("IsReferenceData", "Yes" if ds.spec.cls == "TRIAL DESIGN" else "No")
        ig.set("SASDatasetName", ds.name)
        ig.set(_d("Structure"), ds.spec.structure)
        ig.set("Purpose", "Tabulation" if package.standard == "SDTM" else "Analysis")
        ig.set(_d("StandardOID"), "STD.1")
        ig.set(_d("ArchiveLocationID"), f"LF.{ds.name}")
        if ds.frame.empty:
            ig.set(_d("HasNoData"), "Yes")
        if ds.name[:2] in ("QS", "LB", "RE", "VS", "DM", "DS", "EX", "AE", "SV", "TA", "TE", "TV", "TI", "TS"):
            ig.set("Domain", ds.name)
        _text(ig, _o("Description"), ds.spec.label)
        for order, var in enumerate(ds.spec.variables, start=1):
            ref = etree.SubElement(ig, _o("ItemRef"), ItemOID=f"IT.{ds.name}.{var.name}", OrderNumber=str(order))
            ref.set("Mandatory", "Yes" if var.core == "Req" else "No")
            if var.name in ds.spec.keys:
                ref.set("KeySequence", str(ds.spec.keys.index(var.name) + 1))
            item_defs.append(_item_def(package, ds, var.name, var.label, codelist_refs))
        etree.SubElement(ig, _d("Class"), Name=ds.spec.cls)
        leaf = etree.SubElement(ig, _d("leaf"), ID=f"LF.{ds.name}")
        leaf.set(f"{{{XLINK_NS}}}href", f"{ds.name.lower()}.xpt")
        etree.SubElement(leaf, _d("title")).text = f"{ds.name.lower()}.xpt"
    for item in item_defs:
        mdv.append(item)
    for cl_name, items in package.codelists.items():
        if cl_name not in codelist_refs:
            continue
        cl = etree.SubElement(mdv, _o("CodeList"), OID=f"CL.{cl_name}", Name=f"{cl_name} (sponsor-defined)")
        cl.set("DataType", "text")
        for coded, decode in items.items():
            cli = etree.SubElement(cl, _o("CodeListItem"), CodedValue=coded)
            _text(cli, _o("Decode"), decode)
    targets = {el.get("OID"): el for el in mdv if el.tag in (_o("ItemGroupDef"), _o("ItemDef"))}
    for key, text in package.comments.items():
        target = targets.get(f"IG.{key}" if "." not in key else f"IT.{key}")
        if target is None:
            continue
        oid = f"COM.{key}"
        target.set(_d("CommentOID"), oid)
        _text(etree.SubElement(mdv, _d("CommentDef"), OID=oid), _o("Description"), text)
    return root


def _item_def(package: Package, ds: Dataset, name: str, label: str, codelist_refs: set[str]) -> etree._Element:
    data_type, length, digits = _data_type(ds.frame[name], name)
    item = etree.Element(_o("ItemDef"), OID=f"IT.{ds.name}.{name}", Name=name, DataType=data_type)
    if data_type in ("text", "integer", "float"):
        item.set("Length", str(length))
    if digits is not None:
        item.set("SignificantDigits", str(digits))
    item.set("SASFieldName", name)
    _text(item, _o("Description"), label)
    if name in package.codelists:
        etree.SubElement(item, _o("CodeListRef"), CodeListOID=f"CL.{name}")
        codelist_refs.add(name)
    kind, source = _origin(package, ds, name)
    origin = etree.SubElement(item, _d("Origin"), Type=kind)
    if source:
        origin.set("Source", source)
    return item


def define_xml(package: Package) -> bytes:
    """define.xml as bytes, checked against the schema before it is returned."""
    doc = etree.tostring(build_define(package), xml_declaration=True, encoding="UTF-8", pretty_print=True)
    validate_define(doc)
    return doc


def _schema_path() -> Path:
    return Path(str(resources.files("odmlib") / "schemas" / "define" / "2.1" / "define2-1-0.xsd"))


@lru_cache(maxsize=1)
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(_schema_path())))


def validate_define(document: bytes) -> None:
    """Raise :class:`DefineInvalid` listing each schema error (line and message) of a define.xml."""
    schema = _schema()
    tree = etree.fromstring(document)
    if not schema.validate(tree):
        errors = "\n".join(f"  line {e.line}: {e.message}" for e in list(schema.error_log)[:20])
        raise DefineInvalid(f"define.xml does not conform to Define-XML 2.1:\n{errors}")


__all__ = ["DefineInvalid", "build_define", "define_xml", "validate_define"]
