"""Which SDTM domains alstrial writes, and each one's variables in SDTMIG 3.4 order with labels and types.

The order follows the SDTMIG 3.4 domain tables (identifiers, topic, qualifiers, timing). Variables
we never collect (RACE, ETHNIC, AEDECOD coding by MedDRA, ...) are left out rather than filled with
guesses; define.xml documents exactly the variables each file holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

VarType = Literal["Char", "Num"]


@dataclass(frozen=True)
class Variable:
    name: str
    label: str
    type: VarType = "Char"
    core: Literal["Req", "Exp", "Perm"] = "Perm"
    #: hidden from users who may not see treatment arms yet
    arm_revealing: bool = False


@dataclass(frozen=True)
class DomainSpec:
    name: str
    label: str
    cls: str
    structure: str
    keys: tuple[str, ...]
    variables: tuple[Variable, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.variables)

    def variable(self, name: str) -> Variable:
        return next(v for v in self.variables if v.name == name)


def _v(name: str, label: str, type_: VarType = "Char", core: str = "Perm", *, arm: bool = False) -> Variable:
    return Variable(name, label, type_, core, arm)  # type: ignore[arg-type]


_ID = (_v("STUDYID", "Study Identifier", core="Req"), _v("DOMAIN", "Domain Abbreviation", core="Req"))


def _subj(prefix: str) -> tuple[Variable, ...]:
    usubjid = _v("USUBJID", "Unique Subject Identifier", core="Req")
    return (*_ID, usubjid, _v(f"{prefix}SEQ", "Sequence Number", "Num", "Req"))


_VISIT = (
    _v("VISITNUM", "Visit Number", "Num", "Exp"),
    _v("VISIT", "Visit Name", core="Perm"),
    _v("VISITDY", "Planned Study Day of Visit", "Num"),
)
_EPOCH = _v("EPOCH", "Epoch", core="Perm")


SPECS: dict[str, DomainSpec] = {}


def _add(spec: DomainSpec) -> None:
    SPECS[spec.name] = spec


_add(
    DomainSpec(
        "DM",
        "Demographics",
        "SPECIAL PURPOSE",
        "One record per subject",
        ("STUDYID", "USUBJID"),
        (
            *_ID,
            _v("USUBJID", "Unique Subject Identifier", core="Req"),
            _v("SUBJID", "Subject Identifier for the Study", core="Req"),
            _v("RFSTDTC", "Subject Reference Start Date/Time", core="Exp"),
            _v("RFENDTC", "Subject Reference End Date/Time", core="Exp"),
            _v("RFXSTDTC", "Date/Time of First Study Treatment", core="Exp"),
            _v("RFXENDTC", "Date/Time of Last Study Treatment", core="Exp"),
            _v("RFICDTC", "Date/Time of Informed Consent", core="Exp"),
            _v("RFPENDTC", "Date/Time of End of Participation", core="Exp"),
            _v("DTHDTC", "Date/Time of Death", core="Exp"),
            _v("DTHFL", "Subject Death Flag", core="Exp"),
            _v("SITEID", "Study Site Identifier", core="Req"),
            _v("AGE", "Age", "Num", "Exp"),
            _v("AGEU", "Age Units", core="Exp"),
            _v("SEX", "Sex", core="Req"),
            _v("ARMCD", "Planned Arm Code", core="Exp", arm=True),
            _v("ARM", "Description of Planned Arm", core="Exp", arm=True),
            _v("ACTARMCD", "Actual Arm Code", core="Exp", arm=True),
            _v("ACTARM", "Description of Actual Arm", core="Exp", arm=True),
            _v("ARMNRS", "Reason Arm and/or Actual Arm is Null", core="Exp"),
            _v("COUNTRY", "Country", core="Req"),
        ),
    )
)
_add(
    DomainSpec(
        "DS",
        "Disposition",
        "EVENTS",
        "One record per disposition status or protocol milestone per subject",
        ("STUDYID", "USUBJID", "DSDECOD", "DSSTDTC"),
        (
            *_subj("DS"),
            _v("DSTERM", "Reported Term for the Disposition Event", core="Req"),
            _v("DSDECOD", "Standardized Disposition Term", core="Req"),
            _v("DSCAT", "Category for Disposition Event", core="Exp"),
            _v("DSSCAT", "Subcategory for Disposition Event"),
            _EPOCH,
            _v("DSSTDTC", "Start Date/Time of Disposition Event", core="Exp"),
            _v("DSSTDY", "Study Day of Start of Disposition Event", "Num"),
        ),
    )
)
_add(
    DomainSpec(
        "EX",
        "Exposure",
        "INTERVENTIONS",
        "One record per constant dosing interval per subject",
        ("STUDYID", "USUBJID", "EXTRT", "EXSTDTC"),
        (
            *_subj("EX"),
            _v("EXTRT", "Name of Treatment", core="Req"),
            _v("EXDOSTXT", "Dose Description", arm=True),
            _v("EXDOSFRM", "Dose Form", core="Exp"),
            _v("EXROUTE", "Route of Administration"),
            _v("EXLOT", "Lot Number"),
            *_VISIT,
            _EPOCH,
            _v("EXSTDTC", "Start Date/Time of Treatment", core="Exp"),
            _v("EXENDTC", "End Date/Time of Treatment", core="Exp"),
            _v("EXSTDY", "Study Day of Start of Treatment", "Num"),
            _v("EXENDY", "Study Day of End of Treatment", "Num"),
        ),
    )
)
_add(
    DomainSpec(
        "AE",
        "Adverse Events",
        "EVENTS",
        "One record per adverse event per subject",
        ("STUDYID", "USUBJID", "AEDECOD", "AESTDTC"),
        (
            *_subj("AE"),
            _v("AETERM", "Reported Term for the Adverse Event", core="Req"),
            _v("AEDECOD", "Dictionary-Derived Term", core="Req"),
            _v("AESEV", "Severity/Intensity"),
            _v("AESER", "Serious Event", core="Exp"),
            _v("AEACN", "Action Taken with Study Treatment", core="Exp"),
            _v("AEREL", "Causality", core="Exp"),
            _v("AEOUT", "Outcome of Adverse Event"),
            _v("AESCONG", "Congenital Anomaly or Birth Defect"),
            _v("AESDISAB", "Persist or Signif Disability/Incapacity"),
            _v("AESDTH", "Results in Death"),
            _v("AESHOSP", "Requires or Prolongs Hospitalization"),
            _v("AESLIFE", "Is Life Threatening"),
            _v("AESMIE", "Other Medically Important Serious Event"),
            _EPOCH,
            _v("AESTDTC", "Start Date/Time of Adverse Event", core="Exp"),
            _v("AEENDTC", "End Date/Time of Adverse Event", core="Exp"),
            _v("AESTDY", "Study Day of Start of Adverse Event", "Num"),
            _v("AEENDY", "Study Day of End of Adverse Event", "Num"),
        ),
    )
)
_add(
    DomainSpec(
        "QS",
        "Questionnaires",
        "FINDINGS",
        "One record per questionnaire per question per time point per visit per subject",
        ("STUDYID", "USUBJID", "QSCAT", "QSTESTCD", "VISITNUM"),
        (
            *_subj("QS"),
            _v("QSTESTCD", "Question Short Name", core="Req"),
            _v("QSTEST", "Question Name", core="Req"),
            _v("QSCAT", "Category of Question", core="Req"),
            _v("QSORRES", "Finding in Original Units", core="Exp"),
            _v("QSSTRESC", "Character Result/Finding in Std Format", core="Exp"),
            _v("QSSTRESN", "Numeric Finding in Standard Units", "Num"),
            _v("QSSTAT", "Completion Status"),
            _v("QSREASND", "Reason Not Performed"),
            _v("QSLOBXFL", "Last Observation Before Exposure Flag", core="Exp"),
            _v("QSDRVFL", "Derived Flag"),
            *_VISIT,
            _EPOCH,
            _v("QSDTC", "Date/Time of Finding", core="Exp"),
            _v("QSDY", "Study Day of Finding", "Num"),
        ),
    )
)
_add(
    DomainSpec(
        "LB",
        "Laboratory Test Results",
        "FINDINGS",
        "One record per lab test per time point per visit per subject",
        ("STUDYID", "USUBJID", "LBTESTCD", "LBSPEC", "VISITNUM"),
        (
            *_subj("LB"),
            _v("LBREFID", "Specimen ID"),
            _v("LBTESTCD", "Lab Test or Examination Short Name", core="Req"),
            _v("LBTEST", "Lab Test or Examination Name", core="Req"),
            _v("LBCAT", "Category for Lab Test", core="Exp"),
            _v("LBORRES", "Result or Finding in Original Units", core="Exp"),
            _v("LBORRESU", "Original Units", core="Exp"),
            _v("LBSTRESC", "Character Result/Finding in Std Format", core="Exp"),
            _v("LBSTRESN", "Numeric Result/Finding in Standard Units", "Num", "Exp"),
            _v("LBSTRESU", "Standard Units", core="Exp"),
            _v("LBSPEC", "Specimen Type"),
            _v("LBLOBXFL", "Last Observation Before Exposure Flag", core="Exp"),
            _v("LBLLOQ", "Lower Limit of Quantitation", "Num"),
            *_VISIT,
            _EPOCH,
            _v("LBDTC", "Date/Time of Specimen Collection", core="Exp"),
            _v("LBDY", "Study Day of Specimen Collection", "Num"),
        ),
    )
)
_add(
    DomainSpec(
        "RE",
        "Respiratory System Findings",
        "FINDINGS",
        "One record per finding or result per time point per visit per subject",
        ("STUDYID", "USUBJID", "RETESTCD", "VISITNUM"),
        (
            *_subj("RE"),
            _v("RETESTCD", "Short Name of Respiratory Test", core="Req"),
            _v("RETEST", "Name of Respiratory Test", core="Req"),
            _v("REORRES", "Result or Finding in Original Units", core="Exp"),
            _v("REORRESU", "Original Units", core="Exp"),
            _v("RESTRESC", "Character Result/Finding in Std Format", core="Exp"),
            _v("RESTRESN", "Numeric Result/Finding in Standard Units", "Num", "Exp"),
            _v("RESTRESU", "Standard Units", core="Exp"),
            _v("REPOS", "Position of Subject During Observation"),
            _v("RELOBXFL", "Last Observation Before Exposure Flag", core="Exp"),
            *_VISIT,
            _EPOCH,
            _v("REDTC", "Date/Time of Collection", core="Exp"),
            _v("REDY", "Study Day of Visit/Collection/Exam", "Num"),
        ),
    )
)
_add(
    DomainSpec(
        "VS",
        "Vital Signs",
        "FINDINGS",
        "One record per vital sign measurement per time point per visit per subject",
        ("STUDYID", "USUBJID", "VSTESTCD", "VISITNUM"),
        (
            *_subj("VS"),
            _v("VSTESTCD", "Vital Signs Test Short Name", core="Req"),
            _v("VSTEST", "Vital Signs Test Name", core="Req"),
            _v("VSORRES", "Result or Finding in Original Units", core="Exp"),
            _v("VSORRESU", "Original Units", core="Exp"),
            _v("VSSTRESC", "Character Result/Finding in Std Format", core="Exp"),
            _v("VSSTRESN", "Numeric Result/Finding in Standard Units", "Num", "Exp"),
            _v("VSSTRESU", "Standard Units", core="Exp"),
            _v("VSLOBXFL", "Last Observation Before Exposure Flag", core="Exp"),
            *_VISIT,
            _EPOCH,
            _v("VSDTC", "Date/Time of Measurements", core="Exp"),
            _v("VSDY", "Study Day of Vital Signs", "Num"),
        ),
    )
)
_add(
    DomainSpec(
        "SV",
        "Subject Visits",
        "SPECIAL PURPOSE",
        "One record per actual visit per subject",
        ("STUDYID", "USUBJID", "VISITNUM"),
        (
            *_ID,
            _v("USUBJID", "Unique Subject Identifier", core="Req"),
            _v("VISITNUM", "Visit Number", "Num", "Req"),
            _v("VISIT", "Visit Name"),
            _v("VISITDY", "Planned Study Day of Visit", "Num"),
            _EPOCH,
            _v("SVSTDTC", "Start Date/Time of Visit", core="Exp"),
            _v("SVENDTC", "End Date/Time of Visit", core="Exp"),
            _v("SVSTDY", "Study Day of Start of Visit", "Num"),
            _v("SVENDY", "Study Day of End of Visit", "Num"),
        ),
    )
)
_add(
    DomainSpec(
        "TA",
        "Trial Arms",
        "TRIAL DESIGN",
        "One record per planned Element per Arm",
        ("STUDYID", "ARMCD", "TAETORD"),
        (
            *_ID,
            _v("ARMCD", "Planned Arm Code", core="Req"),
            _v("ARM", "Description of Planned Arm", core="Req"),
            _v("TAETORD", "Planned Order of Element within Arm", "Num", "Req"),
            _v("ETCD", "Element Code", core="Req"),
            _v("ELEMENT", "Description of Element"),
            _v("TABRANCH", "Branch", core="Exp"),
            _v("TATRANS", "Transition Rule", core="Exp"),
            _v("EPOCH", "Epoch", core="Req"),
        ),
    )
)
_add(
    DomainSpec(
        "TE",
        "Trial Elements",
        "TRIAL DESIGN",
        "One record per planned Element",
        ("STUDYID", "ETCD"),
        (
            *_ID,
            _v("ETCD", "Element Code", core="Req"),
            _v("ELEMENT", "Description of Element", core="Req"),
            _v("TESTRL", "Rule for Start of Element", core="Req"),
            _v("TEENRL", "Rule for End of Element"),
            _v("TEDUR", "Planned Duration of Element"),
        ),
    )
)
_add(
    DomainSpec(
        "TV",
        "Trial Visits",
        "TRIAL DESIGN",
        "One record per planned Visit per Arm",
        ("STUDYID", "VISITNUM"),
        (
            *_ID,
            _v("VISITNUM", "Visit Number", "Num", "Req"),
            _v("VISIT", "Visit Name"),
            _v("VISITDY", "Planned Study Day of Visit", "Num"),
            _v("TVSTRL", "Visit Start Rule", core="Req"),
            _v("TVENRL", "Visit End Rule"),
        ),
    )
)
_add(
    DomainSpec(
        "TI",
        "Trial Inclusion/Exclusion Criteria",
        "TRIAL DESIGN",
        "One record per I/E criterion",
        ("STUDYID", "IETESTCD"),
        (
            *_ID,
            _v("IETESTCD", "Incl/Excl Criterion Short Name", core="Req"),
            _v("IETEST", "Inclusion/Exclusion Criterion", core="Req"),
            _v("IECAT", "Inclusion/Exclusion Category", core="Req"),
            _v("TIVERS", "Protocol Criteria Versions"),
        ),
    )
)
_add(
    DomainSpec(
        "TS",
        "Trial Summary",
        "TRIAL DESIGN",
        "One record per trial summary parameter value",
        ("STUDYID", "TSPARMCD", "TSSEQ"),
        (
            *_ID,
            _v("TSSEQ", "Sequence Number", "Num", "Req"),
            _v("TSPARMCD", "Trial Summary Parameter Short Name", core="Req"),
            _v("TSPARM", "Trial Summary Parameter", core="Req"),
            _v("TSVAL", "Parameter Value", core="Exp"),
            _v("TSVALNF", "Parameter Null Flavor"),
            _v("TSVALCD", "Parameter Value Code", core="Exp"),
            _v("TSVCDREF", "Name of the Reference Terminology", core="Exp"),
            _v("TSVCDVER", "Version of the Reference Terminology", core="Exp"),
        ),
    )
)

SUPP_VARIABLES = (
    _v("STUDYID", "Study Identifier", core="Req"),
    _v("RDOMAIN", "Related Domain Abbreviation", core="Req"),
    _v("USUBJID", "Unique Subject Identifier", core="Req"),
    _v("IDVAR", "Identifying Variable", core="Exp"),
    _v("IDVARVAL", "Identifying Variable Value", core="Exp"),
    _v("QNAM", "Qualifier Variable Name", core="Req"),
    _v("QLABEL", "Qualifier Variable Label", core="Req"),
    _v("QVAL", "Data Value", core="Req"),
    _v("QORIG", "Origin", core="Req"),
    _v("QEVAL", "Evaluator", core="Exp"),
)


def supp_spec(parent: str) -> DomainSpec:
    """The SUPPQUAL dataset of one parent domain (``SUPPDM`` ...)."""
    return DomainSpec(
        f"SUPP{parent}",
        f"Supplemental Qualifiers for {parent}",
        "RELATIONSHIP",
        "One record per IDVAR, IDVARVAL, and QNAM value per subject",
        ("STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM"),
        SUPP_VARIABLES,
    )


#: Sponsor-defined ALSFRS-R QSTESTCD/QSTEST (no CDISC codelist for the ALSFRS-R exists in SDTM CT 2025-03-25)
ALSFRS_TESTS: dict[str, tuple[str, str]] = {
    "q1": ("ALSR01", "ALSFRS-R 1 Speech"),
    "q2": ("ALSR02", "ALSFRS-R 2 Salivation"),
    "q3": ("ALSR03", "ALSFRS-R 3 Swallowing"),
    "q4": ("ALSR04", "ALSFRS-R 4 Handwriting"),
    "q5a": ("ALSR05A", "ALSFRS-R 5a Cutting Food w/o Gastrostomy"),
    "q5b": ("ALSR05B", "ALSFRS-R 5b Cutting Food w/ Gastrostomy"),  # SDTM: QSTEST <= 40 characters
    "q6": ("ALSR06", "ALSFRS-R 6 Dressing and Hygiene"),
    "q7": ("ALSR07", "ALSFRS-R 7 Turning in Bed"),
    "q8": ("ALSR08", "ALSFRS-R 8 Walking"),
    "q9": ("ALSR09", "ALSFRS-R 9 Climbing Stairs"),
    "q10": ("ALSR10", "ALSFRS-R 10 Dyspnea"),
    "q11": ("ALSR11", "ALSFRS-R 11 Orthopnea"),
    "q12": ("ALSR12", "ALSFRS-R 12 Respiratory Insufficiency"),
    "total": ("ALSRTOT", "ALSFRS-R Total Score"),
}
