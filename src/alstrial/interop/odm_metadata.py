"""CDISC ODM 1.3.2 study metadata: the protocol's visits and forms as MetaDataVersion, and back.

Writing: each visit is a StudyEventDef, each form a FormDef with one ItemGroupDef, each field an
ItemDef (DataType from its validation, CodeList for choices, RangeCheck for min/max, a MethodDef
for calculations). What ODM has no element for (REDCap field type, branching, field note, section)
travels as ``Alias`` elements in the ``alstrial:*`` context, so our own export re-imports to the
same forms. Reading accepts any ODM 1.3.x metadata and reports what it cannot carry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from alstrial.errors import Problem, ValidationFailed
from alstrial.interop.forms import Form, FormField
from alstrial.interop.redcap_dictionary import Dictionary, Unsupported
from alstrial.protocol.models import Protocol

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
ALIAS = "alstrial"
#: which form captures each protocol assessment at a visit
ASSESSMENT_FORMS = {
    "consent": "screening",
    "eligibility": "screening",
    "alsfrs_r": "alsfrs_r",
    "svc": "vital_capacity",
    "csf": "csf_labs",
}
#: forms of events that happen at any time (one unscheduled, repeating study event each)
UNSCHEDULED = {"adverse_event": "AE", "study_withdrawal": "WD"}
_DATATYPE = {"integer": "integer", "number": "float", "date_ymd": "date", "datetime_ymd": "datetime"}


def o(tag: str) -> str:
    return f"{{{ODM_NS}}}{tag}"


def _text(parent: etree._Element, tag: str, text: str) -> None:
    el = etree.SubElement(parent, o(tag))
    tt = etree.SubElement(el, o("TranslatedText"))
    tt.set(XML_LANG, "en")
    tt.text = text


def form_oid(form: str) -> str:
    return f"F.{form}"


def group_oid(form: str) -> str:
    return f"IG.{form}"


def item_oid(name: str) -> str:
    return f"IT.{name}"


def event_oid(code: str) -> str:
    return f"SE.{code}"


def visit_forms(protocol: Protocol) -> dict[str, list[str]]:
    """The forms filled at each scheduled visit, in protocol order."""
    out: dict[str, list[str]] = {}
    for v in protocol.visits:
        forms = [ASSESSMENT_FORMS[a] for a in v.assessments if a in ASSESSMENT_FORMS]
        out[v.code] = list(dict.fromkeys(forms))
    return out


def _data_type(f: FormField) -> str:
    if f.type in ("yesno", "truefalse"):
        return "boolean"
    if f.type == "calc":
        return "float"
    return _DATATYPE.get(f.validation, "text")


def metadata_version(protocol: Protocol, forms: tuple[Form, ...], oid: str) -> etree._Element:
    """The MetaDataVersion element of a protocol and its forms."""
    mdv = etree.Element(o("MetaDataVersion"), OID=oid, Name=f"{protocol.id} forms")
    prot = etree.SubElement(mdv, o("Protocol"))
    events = [(event_oid(v.code), v.name, "Scheduled", "No") for v in protocol.visits]
    events += [
        (event_oid(code), form.replace("_", " ").capitalize(), "Unscheduled", "Yes")
        for form, code in UNSCHEDULED.items()
    ]
    for i, (e_oid, *_rest) in enumerate(events, start=1):
        etree.SubElement(prot, o("StudyEventRef"), StudyEventOID=e_oid, OrderNumber=str(i), Mandatory="No")
    by_visit = visit_forms(protocol)
    for e_oid, name, kind, repeating in events:
        se = etree.SubElement(mdv, o("StudyEventDef"), OID=e_oid, Name=name, Repeating=repeating, Type=kind)
        code = e_oid[3:]
        names = by_visit.get(code) or [f for f, c in UNSCHEDULED.items() if c == code]
        for i, form_name in enumerate(names, start=1):
            etree.SubElement(se, o("FormRef"), FormOID=form_oid(form_name), OrderNumber=str(i), Mandatory="No")
    for form in forms:
        repeating = "Yes" if form.name in UNSCHEDULED else "No"
        fd = etree.SubElement(mdv, o("FormDef"), OID=form_oid(form.name), Name=form.name, Repeating=repeating)
        etree.SubElement(fd, o("ItemGroupRef"), ItemGroupOID=group_oid(form.name), Mandatory="Yes")
    for form in forms:
        ig = etree.SubElement(mdv, o("ItemGroupDef"), OID=group_oid(form.name), Name=form.name, Repeating="No")
        for i, f in enumerate(form.fields, start=1):
            ref = etree.SubElement(ig, o("ItemRef"), ItemOID=item_oid(f.name), OrderNumber=str(i))
            ref.set("Mandatory", "Yes" if f.required else "No")
            if f.type == "calc":
                ref.set("MethodOID", f"MT.{f.name}")
    for form in forms:
        for f in form.fields:
            mdv.append(_item_def(f))
    for form in forms:
        for f in form.fields:
            if f.choices:
                cl = etree.SubElement(mdv, o("CodeList"), OID=f"CL.{f.name}", Name=f.name, DataType="text")
                for code, label in f.choices:
                    item = etree.SubElement(cl, o("CodeListItem"), CodedValue=code)
                    _text(item, "Decode", label)
    for form in forms:
        for f in form.fields:
            if f.type == "calc":
                method = etree.SubElement(mdv, o("MethodDef"), OID=f"MT.{f.name}", Name=f.name, Type="Computation")
                _text(method, "Description", f"Derivation of {f.name}")
                expr = etree.SubElement(method, o("FormalExpression"), Context="REDCap")
                expr.text = f.calculation
    return mdv


def _item_def(f: FormField) -> etree._Element:
    item = etree.Element(o("ItemDef"), OID=item_oid(f.name), Name=f.name, DataType=_data_type(f))
    if f.label:
        _text(item, "Question", f.label)
    for comparator, value in (("GE", f.min), ("LE", f.max)):
        if value:
            rc = etree.SubElement(item, o("RangeCheck"), Comparator=comparator, SoftHard="Hard")
            etree.SubElement(rc, o("CheckValue")).text = value
    if f.choices:
        etree.SubElement(item, o("CodeListRef"), CodeListOID=f"CL.{f.name}")
    aliases = {
        "type": f.type,
        "validation": f.validation,
        "branching": f.branching,
        "note": f.note,
        "section": f.section,
    }
    for key, value in aliases.items():
        if value:
            etree.SubElement(item, o("Alias"), Context=f"{ALIAS}:{key}", Name=value)
    return item


# -- reading -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OdmStudy:
    """Study metadata read from an ODM file: forms in the neutral model, what was not carried, and notes."""

    study_oid: str
    forms: Dictionary
    notes: tuple[str, ...] = ()

    def __str__(self) -> str:
        head = f"ODM study {self.study_oid}: {self.forms}"
        return "\n".join([head, *(f"note: {n}" for n in self.notes)])


def _name(oid: str) -> str:
    name = re.sub(r"[^a-z0-9_]+", "_", oid.lower()).strip("_")
    return name if name[:1].isalpha() else f"f_{name}"


def _question(el: etree._Element) -> str:
    tt = el.find(f"{o('Question')}/{o('TranslatedText')}")
    return (tt.text or "").strip() if tt is not None else el.get("Name", "")


def read_metadata(root: etree._Element, notes: list[str]) -> OdmStudy:
    """Forms from the first Study's first MetaDataVersion of a parsed ODM document."""
    study = root.find(o("Study"))
    mdv = study.find(o("MetaDataVersion")) if study is not None else None
    if study is None or mdv is None:
        raise ValidationFailed([Problem("ODM", root.get("FileOID"), "has no Study with a MetaDataVersion to import")])
    items = {el.get("OID"): el for el in mdv.iter(o("ItemDef"))}
    groups = {el.get("OID"): el for el in mdv.iter(o("ItemGroupDef"))}
    codelists = {el.get("OID"): el for el in mdv.iter(o("CodeList"))}
    methods = {el.get("OID"): el for el in mdv.iter(o("MethodDef"))}
    problems: list[Problem] = []
    unsupported: list[Unsupported] = []
    forms: list[Form] = []
    seen: dict[str, str] = {}
    for fd in mdv.iter(o("FormDef")):
        fname = (
            _name(fd.get("Name") or fd.get("OID", "form"))
            if fd.get("OID", "").startswith("F.")
            else _name(fd.get("OID", "form"))
        )
        fields: list[FormField] = []
        for gref in fd.iter(o("ItemGroupRef")):
            group = groups.get(gref.get("ItemGroupOID"))
            if group is None:
                problems.append(
                    Problem(
                        f"FormDef {fd.get('OID')}",
                        gref.get("ItemGroupOID"),
                        "refers to an ItemGroupDef that does not exist",
                    )
                )
                continue
            if group.get("Repeating") == "Yes":
                unsupported.append(
                    Unsupported(group.get("OID", ""), "repeating item group", "imported as one set of fields")
                )
            for iref in group.iter(o("ItemRef")):
                item = items.get(iref.get("ItemOID"))
                if item is None:
                    problems.append(
                        Problem(
                            f"ItemGroupDef {group.get('OID')}",
                            iref.get("ItemOID"),
                            "refers to an ItemDef that does not exist",
                        )
                    )
                    continue
                f = _field(item, iref, fname, codelists, methods, problems, unsupported)
                if f is None:
                    continue
                if f.name in seen:
                    unsupported.append(
                        Unsupported(f.name, "item on several forms", f"kept on form {seen[f.name]!r} only")
                    )
                    continue
                seen[f.name] = fname
                fields.append(f)
        forms.append(Form(fname, tuple(fields)))
    if mdv.find(o("ConditionDef")) is not None:
        unsupported.append(Unsupported("ConditionDef", "collection exception conditions", "not evaluated"))
    if problems:
        raise ValidationFailed(problems, context="ODM metadata: nothing was imported")
    return OdmStudy(study.get("OID", ""), Dictionary(tuple(forms), tuple(unsupported)), tuple(notes))


def _field(
    item: etree._Element,
    iref: etree._Element,
    form: str,
    codelists: dict[str | None, etree._Element],
    methods: dict[str | None, etree._Element],
    problems: list[Problem],
    unsupported: list[Unsupported],
) -> FormField | None:
    alias = {
        a.get("Context", "")[len(ALIAS) + 1 :]: a.get("Name", "")
        for a in item.iter(o("Alias"))
        if a.get("Context", "").startswith(f"{ALIAS}:")
    }
    name = item.get("Name", "") if alias else _name(item.get("OID", ""))
    dtype = item.get("DataType", "text")
    choices: tuple[tuple[str, str], ...] = ()
    cref = item.find(o("CodeListRef"))
    if cref is not None:
        cl = codelists.get(cref.get("CodeListOID"))
        if cl is None:
            problems.append(
                Problem(
                    f"ItemDef {item.get('OID')}", cref.get("CodeListOID"), "refers to a CodeList that does not exist"
                )
            )
            return None
        choices = tuple(
            (
                ci.get("CodedValue", ""),
                "".join(ci.find(o("Decode")).itertext()).strip()
                if ci.find(o("Decode")) is not None
                else ci.get("CodedValue", ""),
            )
            for ci in cl.iter(o("CodeListItem"))
        )
        if cl.find(o("EnumeratedItem")) is not None:
            choices += tuple((e.get("CodedValue", ""), e.get("CodedValue", "")) for e in cl.iter(o("EnumeratedItem")))
        if cl.find(o("ExternalCodeList")) is not None:
            unsupported.append(Unsupported(name, "external code list", "its codes are not in the file"))
    ranges = {rc.get("Comparator"): rc.findtext(o("CheckValue")) or "" for rc in item.iter(o("RangeCheck"))}
    for comparator in set(ranges) - {"GE", "LE"}:
        unsupported.append(Unsupported(name, f"range check {comparator}", "only GE/LE limits are kept"))
    ftype, validation = alias.get("type"), alias.get("validation", "")
    if ftype is None:
        ftype, validation = _from_datatype(name, dtype, bool(choices), unsupported)
    calculation = ""
    if iref.get("MethodOID"):
        method = methods.get(iref.get("MethodOID"))
        expr = method.find(o("FormalExpression")) if method is not None else None
        if expr is not None and expr.get("Context") == "REDCap":
            calculation = expr.text or ""
        else:
            unsupported.append(
                Unsupported(name, "derivation method", f"MethodDef {iref.get('MethodOID')} is not evaluated")
            )
    mu = item.find(o("MeasurementUnitRef"))
    note = alias.get("note", "") or (mu.get("MeasurementUnitOID", "") if mu is not None else "")
    return FormField(
        name=name,
        form=form,
        type=ftype,
        label=_question(item),
        choices=choices,
        validation=validation,
        min=ranges.get("GE", ""),
        max=ranges.get("LE", ""),
        note=note,
        branching=alias.get("branching", ""),
        required=iref.get("Mandatory") == "Yes",
        section=alias.get("section", ""),
        calculation=calculation,
    )


def _from_datatype(name: str, dtype: str, coded: bool, unsupported: list[Unsupported]) -> tuple[str, str]:
    if coded:
        return "radio", ""
    mapping = {
        "integer": ("text", "integer"),
        "float": ("text", "number"),
        "double": ("text", "number"),
        "date": ("text", "date_ymd"),
        "partialDate": ("text", "date_ymd"),
        "datetime": ("text", "datetime_ymd"),
        "partialDatetime": ("text", "datetime_ymd"),
        "boolean": ("yesno", ""),
        "text": ("text", ""),
        "string": ("text", ""),
    }
    if dtype in mapping:
        if dtype.startswith("partial"):
            unsupported.append(Unsupported(name, f"data type {dtype}", "partial dates are read as full dates"))
        return mapping[dtype]
    unsupported.append(Unsupported(name, f"data type {dtype}", "read as free text"))
    return "text", ""
