"""SDTM export: the capture database as SDTMIG 3.4 datasets in XPT v5, with define.xml 2.1.

Who sees what is decided by the one role policy (``services.policy``): a role that may not see
arms yet gets DM without ARMCD/ARM/ACTARMCD/ACTARM and EX without the treatment name or dose;
site roles are refused (a submission covers every site).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
from sqlalchemy.orm import Session

from alstrial.interop.define_xml import define_xml
from alstrial.interop.package import Dataset, ExportResult, Package, write_package
from alstrial.interop.sdtm_design import design_domains
from alstrial.interop.sdtm_findings import TrialDomains
from alstrial.interop.sdtm_spec import ALSFRS_TESTS, SPECS, DomainSpec, supp_spec
from alstrial.interop.sdtm_subject import read_subject_data
from alstrial.protocol.models import Protocol
from alstrial.services import policy
from alstrial.services.actor import Actor
from alstrial.services.context import CaptureDB, transaction
from alstrial.services.exceptions import PermissionDenied

ORDER = ("TA", "TE", "TV", "TI", "TS", "DM", "SUPPDM", "SV", "EX", "AE", "DS", "LB", "SUPPLB", "QS", "RE", "VS")


def _spec(name: str) -> DomainSpec:
    return SPECS[name] if name in SPECS else supp_spec(name[4:])


def _visible_spec(spec: DomainSpec, frame: pd.DataFrame) -> DomainSpec:
    """The spec restricted to the variables the frame holds (blinded exports drop some)."""
    return replace(spec, variables=tuple(v for v in spec.variables if v.name in frame.columns))


def build_sdtm(session: Session, protocol: Protocol, *, with_arms: bool) -> Package:
    """All SDTM datasets of one trial as a :class:`Package` (nothing written)."""
    domains = TrialDomains(read_subject_data(session, with_arms=with_arms), protocol).all()
    domains |= design_domains(protocol)
    datasets = []
    for name in ORDER:
        frame = domains[name]
        spec = _visible_spec(_spec(name), frame)
        datasets.append(Dataset(spec, frame[list(spec.names)]))
    codelists = {"QSTESTCD": {code: test for code, test in ALSFRS_TESTS.values()}}
    comments = {
        "AE.AEDECOD": "The verbatim term in upper case: adverse events are not MedDRA-coded yet",
        "DM": "RACE and ETHNIC are not collected by the protocol's screening form and are omitted",
        "QS.QSTESTCD": "Sponsor-defined: SDTM CT 2025-03-25 has no ALSFRS-R codelist",
    }
    if not with_arms:
        comments["DM"] += "; ARMCD, ARM, ACTARMCD and ACTARM are withheld until unblinding"
        comments["EX"] = "Blinded export: EXTRT does not name the treatment given and EXDOSTXT is withheld"
    notes = tuple(comments[k] for k in ("AE.AEDECOD", "DM"))
    package = Package("SDTM", protocol.id, protocol.title, tuple(datasets), with_arms, notes, codelists)
    return replace(package, comments=comments)


def export_sdtm(db: CaptureDB, actor: Actor, out_dir: Path) -> ExportResult:
    """Write the SDTM datasets, SUPP-- and define.xml the actor may see into ``out_dir``."""
    if policy.is_site_bound(actor.role):
        raise PermissionDenied(f"{actor} may not export SDTM: a submission covers every site; ask a study-wide role")
    # the services' read path: role and account re-checked, one read transaction, database errors mapped
    with transaction(db, actor, policy.Permission.READ) as tx:
        package = build_sdtm(tx.session, tx.protocol, with_arms=tx.sees_arm())
    return write_package(package, out_dir, define_xml)
