"""ADaM export: the analysis datasets of ``alstrial.analysis`` as XPT v5 with define.xml 2.1.

The datasets come from :func:`alstrial.analysis.from_store.datasets_from_store`, which refuses a
database that is not locked and unblinded, so ADaM files (which carry treatment) exist only after
unblinding. Booleans become ``Y``/``N`` flags, the arm code becomes the planned treatment's name
(``TRT01P`` in ADSL, ``TRTP`` elsewhere), and every dataset gains ``STUDYID``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from alstrial.analysis.datasets import AnalysisDatasets
from alstrial.analysis.from_store import datasets_from_store
from alstrial.interop.define_xml import define_xml
from alstrial.interop.package import Dataset, ExportResult, Package, write_package
from alstrial.interop.sdtm_spec import DomainSpec, Variable
from alstrial.protocol.models import Protocol
from alstrial.services import policy
from alstrial.services.actor import Actor
from alstrial.services.context import CaptureDB, transaction
from alstrial.services.exceptions import PermissionDenied

LABELS: dict[str, str] = {
    "STUDYID": "Study Identifier",
    "USUBJID": "Unique Subject Identifier",
    "SITEID": "Study Site Identifier",
    "TRT01P": "Planned Treatment for Period 01",
    "TRTP": "Planned Treatment",
    "AGE": "Age",
    "SEX": "Sex",
    "ONSETREG": "Site of ALS Onset",
    "RILUZFL": "On Riluzole at Screening Flag",
    "MOSONSET": "Months from Onset to First Dose",
    "ELIGFL": "Eligible at Screening Flag",
    "FAILCRIT": "Failed Eligibility Criteria",
    "RANDFL": "Randomized Population Flag",
    "SAFFL": "Safety Population Flag",
    "FASFL": "Full Analysis Set Population Flag",
    "COMPLFL": "Completers Population Flag",
    "DCSREAS": "Reason for Discontinuation from Study",
    "SCRALS": "ALSFRS-R Total at Screening",
    "BASEALS": "ALSFRS-R Total at Baseline",
    "PRESLOPE": "Pre-treatment ALSFRS-R Slope (pts/month)",
    "SVCBL": "Baseline SVC (% predicted)",
    "ALSBAND": "Baseline ALSFRS-R Band",
    "PARAMCD": "Parameter Code",
    "PARAM": "Parameter",
    "AVISIT": "Analysis Visit",
    "AVISITN": "Analysis Visit (N) (weeks)",
    "ADY": "Analysis Relative Day",
    "AVAL": "Analysis Value",
    "BASE": "Baseline Value",
    "CHG": "Change from Baseline",
    "BLQFL": "Below Lower Limit of Quantitation Flag",
    "LLOQ": "Lower Limit of Quantitation",
    "CNSR": "Censor",
    "AETERM": "Reported Term for the Adverse Event",
    "AESER": "Serious Event",
    "AESEV": "Severity/Intensity",
    "AEREL": "Causality",
    "AEOUT": "Outcome of Adverse Event",
    "AESTDY": "Study Day of Start of Adverse Event",
}

_BDS = "BASIC DATA STRUCTURE"
_BY_VISIT = "One record per subject per parameter per analysis visit"
#: (dataset, label, class, structure, keys)
DATASETS: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    ("ADSL", "Subject-Level Analysis Dataset", "SUBJECT LEVEL ANALYSIS DATASET", "One record per subject", ()),
    ("ADQS", "ALSFRS-R Total Analysis Dataset", _BDS, _BY_VISIT, ("PARAMCD", "AVISIT")),
    ("ADQSRI", "ALSFRS-R Totals incl. Run-in", _BDS, "One record per subject per analysis day", ("PARAMCD", "ADY")),
    ("ADLB", "CSF Biomarker Analysis Dataset", _BDS, _BY_VISIT, ("PARAMCD", "AVISIT")),
    ("ADTTE", "Time-to-Event Analysis Dataset", _BDS, "One record per subject per parameter", ("PARAMCD",)),
    (
        "ADAE",
        "Adverse Events Analysis Dataset",
        "OCCURRENCE DATA STRUCTURE",
        "One record per adverse event",
        ("AETERM",),
    ),
)

_FLAGS = ("RILUZFL", "ELIGFL", "RANDFL", "SAFFL", "FASFL", "COMPLFL", "BLQFL", "AESER")
_PARAMS = {
    "ADQS": ("ALSFRSR", "ALSFRS-R Total Score"),
    "ADQSRI": ("ALSFRSR", "ALSFRS-R Total Score"),
    "ADTTE": (None, "Time to Death or Permanent Assisted Ventilation (days)"),
}


def _frames(datasets: AnalysisDatasets) -> dict[str, pd.DataFrame]:
    return {
        "ADSL": datasets.adsl,
        "ADQS": datasets.adqs,
        "ADQSRI": datasets.adqs_runin,
        "ADLB": datasets.adlb,
        "ADTTE": datasets.adtte,
        "ADAE": datasets.adae,
    }


def _adam_frame(name: str, frame: pd.DataFrame, protocol: Protocol) -> pd.DataFrame:
    out = frame.copy()
    arm_name = {a.code: a.name for a in protocol.arms}
    trt = "TRT01P" if name == "ADSL" else "TRTP"
    out = out.rename(columns={"ARM": trt})
    out[trt] = out[trt].map(arm_name).fillna("")
    for flag in _FLAGS:
        if flag in out.columns:
            out[flag] = out[flag].map(lambda v: "Y" if bool(v) else "N")
    if name in _PARAMS:
        code, param = _PARAMS[name]
        if code is not None:
            out.insert(1, "PARAMCD", code)
        out.insert(list(out.columns).index("PARAMCD") + 1, "PARAM", param)
    if name == "ADLB":
        names = {a.code: f"{a.name} ({a.unit})"[:40] for a in protocol.analytes}
        out.insert(list(out.columns).index("PARAMCD") + 1, "PARAM", out["PARAMCD"].map(names).fillna(out["PARAMCD"]))
    out.insert(0, "STUDYID", protocol.id)
    for column in out.columns:
        if pd.api.types.is_bool_dtype(out[column]):
            out[column] = out[column].astype(float)
        elif not pd.api.types.is_numeric_dtype(out[column]):
            out[column] = out[column].fillna("").astype(str)
    return out.reset_index(drop=True)


def build_adam(datasets: AnalysisDatasets, protocol: Protocol) -> Package:
    """The ADaM package of one trial (nothing written)."""
    frames = _frames(datasets)
    out = []
    for name, label, cls, structure, keys in DATASETS:
        frame = _adam_frame(name, frames[name], protocol)
        variables = tuple(
            Variable(
                c,
                LABELS.get(c, c),
                "Num" if pd.api.types.is_numeric_dtype(frame[c]) else "Char",
                "Req" if c in ("STUDYID", "USUBJID") else "Perm",
            )
            for c in frame.columns
        )
        out.append(Dataset(DomainSpec(name, label, cls, structure, ("STUDYID", "USUBJID", *keys), variables), frame))
    return Package("ADaM", protocol.id, protocol.title, tuple(out), with_arms=True)


def export_adam(db: CaptureDB, actor: Actor, out_dir: Path) -> ExportResult:
    """Write the ADaM datasets and define.xml (the database must be locked and unblinded)."""
    if policy.is_site_bound(actor.role):
        raise PermissionDenied(f"{actor} may not export ADaM: analysis datasets cover every site")
    with transaction(db, actor, policy.Permission.READ) as tx:
        protocol = tx.protocol
        datasets = datasets_from_store(tx.session, protocol)
    return write_package(build_adam(datasets, protocol), out_dir, define_xml)
