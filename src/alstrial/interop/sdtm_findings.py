"""SDTM findings domains (QS, LB with SUPPLB, RE, VS) on top of the subject-level builder.

QS holds the ALSFRS-R items and the derived total (QSDRVFL ``Y``) under QSCAT ``ALSFRS-R`` with
sponsor-defined test codes (:data:`~alstrial.interop.sdtm_spec.ALSFRS_TESTS`); LB follows the
LLOQ convention (LBSTRESC ``<LLOQ``, LBSTRESN empty); RE holds SVC/FVC in litres and % predicted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from alstrial.instruments.alsfrs_r import ITEMS_BY_CODE
from alstrial.interop.sdtm_spec import ALSFRS_TESTS
from alstrial.interop.sdtm_subject import SubjectDomains, ordered, with_seq
from alstrial.interop.sdtm_timing import iso
from alstrial.interop.xpt import ascii_text


class TrialDomains(SubjectDomains):
    """Every subject-level domain: DM, SUPPDM, DS, EX, AE, SV and the findings QS, LB, SUPPLB, RE, VS."""

    def _findings(
        self, domain: str, rows: pd.DataFrame, values: dict[str, Any], sort: list[str], *, test: str
    ) -> pd.DataFrame:
        pids = rows["_pid"]
        out = pd.DataFrame(
            {
                **self._base(domain, pids),
                **values,
                "VISITNUM": rows["visit_code"].map(self.visitnum).to_numpy(),
                "VISIT": rows["visit_code"].map(self.visitname).to_numpy(),
                "VISITDY": rows["visit_code"].map(self.visitdy).to_numpy(),
                "EPOCH": rows["visit_code"].map(self.clock.by_visit).to_numpy(),
                f"{domain}DTC": [iso(x) for x in rows["_dt"]],
                f"{domain}DY": [self._dy(i, x) for i, x in zip(pids, rows["_dt"], strict=True)],
            }
        )
        out[f"{domain}LOBXFL"] = self._lobxfl(rows.reset_index(drop=True), "_dt", [test]).to_numpy()
        return ordered(with_seq(out, domain, [f"{domain}DTC", "VISITNUM", *sort]), domain, with_arms=True)

    def qs(self) -> pd.DataFrame:
        v = self._visit_rows(self.data.alsfrs)
        long = v.melt(
            id_vars=["participant_id", "visit_code", "assessed_on", "visit_date"],
            value_vars=list(ALSFRS_TESTS),
            var_name="item",
            value_name="score",
        ).dropna(subset=["score"])  # item 5: only the answered form (5a or 5b) is a record
        long = long.assign(_pid=long["participant_id"], _dt=long["assessed_on"].fillna(long["visit_date"]))
        long["_order"] = long["item"].map({k: i for i, k in enumerate(ALSFRS_TESTS)})
        long = long.sort_values(["_pid", "_dt", "_order"]).reset_index(drop=True)
        score = long["score"].astype(int)
        text = [
            str(s) if item == "total" else ascii_text(f"{s}: {ITEMS_BY_CODE[item].anchors[s]}")[:200]
            for item, s in zip(long["item"], score, strict=True)
        ]
        values = {
            "QSTESTCD": long["item"].map(lambda k: ALSFRS_TESTS[k][0]).to_numpy(),
            "QSTEST": long["item"].map(lambda k: ALSFRS_TESTS[k][1]).to_numpy(),
            "QSCAT": "ALSFRS-R",
            "QSORRES": text,
            "QSSTRESC": score.astype(str).to_numpy(),
            "QSSTRESN": score.astype(float).to_numpy(),
            "QSDRVFL": np.where(long["item"] == "total", "Y", ""),
            "_order": long["_order"].to_numpy(),
        }
        long["QSTESTCD"] = long["item"].map(lambda k: ALSFRS_TESTS[k][0])
        return self._findings("QS", long, values, ["_order"], test="QSTESTCD")

    def lb(self) -> pd.DataFrame:
        lab = self.data.labs.assign(_pid=lambda f: f["participant_id"], _dt=lambda f: f["collected_at"])
        names = {a.code: a for a in self.protocol.analytes}

        def num(x: Any) -> str:
            return "" if x is None or pd.isna(x) else f"{float(x):g}"

        below = lab["below_lloq"].astype(bool)
        orres = [
            f"<{num(q)}" if b and (o is None or pd.isna(o)) else num(o)
            for b, o, q in zip(below, lab["value_original"], lab["lloq_std"], strict=True)
        ]
        oru = [
            u if not (b and (o is None or pd.isna(o))) else s
            for b, o, u, s in zip(below, lab["value_original"], lab["unit_original"], lab["unit_std"], strict=True)
        ]
        testcd = [names[a].cdisc_testcd if a in names else a.upper()[:8] for a in lab["analyte"]]
        values = {
            "LBREFID": lab["sample_id"].to_numpy(),
            "LBTESTCD": testcd,
            "LBTEST": [names[a].name[:40] if a in names else a for a in lab["analyte"]],
            "LBCAT": "CSF BIOMARKERS",
            "LBORRES": orres,
            "LBORRESU": oru,
            # below the LLOQ: the character result says "<LLOQ" and the numeric result stays empty
            "LBSTRESC": [
                f"<{num(q)}" if b else num(v) for b, v, q in zip(below, lab["value_std"], lab["lloq_std"], strict=True)
            ],
            "LBSTRESN": np.where(below, np.nan, lab["value_std"].astype(float)),
            "LBSTRESU": lab["unit_std"].to_numpy(),
            "LBSPEC": [names[a].specimen if a in names else "CEREBROSPINAL FLUID" for a in lab["analyte"]],
            "LBLLOQ": lab["lloq_std"].astype(float).to_numpy(),
        }
        lab["LBTESTCD"] = testcd
        return self._findings("LB", lab.reset_index(drop=True), values, ["LBTESTCD"], test="LBTESTCD")

    def supplb(self, lb: pd.DataFrame) -> pd.DataFrame:
        """The assay (platform) of each result: no CDISC variable holds it, so it goes to SUPPLB."""
        assay = dict(
            zip(
                zip(self.data.labs["sample_id"], self.data.labs["analyte"], strict=True),
                self.data.labs["assay"],
                strict=True,
            )
        )
        code_to_analyte = {a.cdisc_testcd: a.code for a in self.protocol.analytes}
        out = pd.DataFrame(
            {
                "STUDYID": self.studyid,
                "RDOMAIN": "LB",
                "USUBJID": lb["USUBJID"],
                "IDVAR": "LBSEQ",
                "IDVARVAL": lb["LBSEQ"].astype(int).astype(str),
                "QNAM": "LBASSAY",
                "QLABEL": "Assay Platform",
                "QVAL": [
                    assay.get((s, code_to_analyte.get(t, t)), "")
                    for s, t in zip(lb["LBREFID"], lb["LBTESTCD"], strict=True)
                ],
                "QORIG": "ASSIGNED",
                "QEVAL": "",
            }
        )
        return ordered(out[out["QVAL"] != ""], "SUPPLB", with_arms=True)

    def re(self) -> pd.DataFrame:
        v = self._visit_rows(self.data.vital_capacity)
        rows: list[dict[str, Any]] = []
        names = {"SVC": "Slow Vital Capacity", "FVC": "Forced Vital Capacity"}
        for r in v.to_dict("records"):
            pos = {"upright": "SITTING", "supine": "SUPINE"}.get(r["position"], str(r["position"]).upper())
            base = {"_pid": r["participant_id"], "visit_code": r["visit_code"], "_dt": r["visit_date"], "REPOS": pos}
            if r["liters"] is not None and not pd.isna(r["liters"]):
                rows.append(base | {"RETESTCD": r["test"], "RETEST": names[r["test"]], "_val": r["liters"], "_u": "L"})
            rows.append(
                base
                | {
                    "RETESTCD": f"{r['test']}PP",
                    "RETEST": f"Percent Predicted {names[r['test']]}",
                    "_val": r["percent_predicted"],
                    "_u": "%",
                }
            )
        f = pd.DataFrame(rows, columns=["_pid", "visit_code", "_dt", "REPOS", "RETESTCD", "RETEST", "_val", "_u"])
        values = {
            "RETESTCD": f["RETESTCD"].to_numpy(),
            "RETEST": f["RETEST"].to_numpy(),
            "REORRES": [f"{x:g}" for x in f["_val"]],
            "REORRESU": f["_u"].to_numpy(),
            "RESTRESC": [f"{x:g}" for x in f["_val"]],
            "RESTRESN": f["_val"].astype(float).to_numpy(),
            "RESTRESU": f["_u"].to_numpy(),
            "REPOS": f["REPOS"].to_numpy(),
        }
        return self._findings("RE", f, values, ["RETESTCD"], test="RETESTCD")

    def vs(self) -> pd.DataFrame:
        v = self._visit_rows(self.data.weight)
        v = v.assign(_pid=v["participant_id"], _dt=v["visit_date"], VSTESTCD="WEIGHT").reset_index(drop=True)
        values = {
            "VSTESTCD": "WEIGHT",
            "VSTEST": "Weight",
            "VSORRES": [f"{x:g}" for x in v["weight_kg"]],
            "VSORRESU": "kg",
            "VSSTRESC": [f"{x:g}" for x in v["weight_kg"]],
            "VSSTRESN": v["weight_kg"].astype(float).to_numpy(),
            "VSSTRESU": "kg",
        }
        return self._findings("VS", v, values, ["VSTESTCD"], test="VSTESTCD")

    def all(self) -> dict[str, pd.DataFrame]:
        builders: dict[str, Callable[[], pd.DataFrame]] = {
            "DM": self.dm,
            "SUPPDM": self.suppdm,
            "DS": self.ds,
            "EX": self.ex,
            "AE": self.ae,
            "SV": self.sv,
            "QS": self.qs,
            "LB": self.lb,
            "RE": self.re,
            "VS": self.vs,
        }
        out = {name: build() for name, build in builders.items()}
        out["SUPPLB"] = self.supplb(out["LB"])
        return out
