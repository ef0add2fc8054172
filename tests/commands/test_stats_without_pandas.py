"""`alstrial stats mmrm|cafs` on a plain CSV file (read and fitted without pandas) agree with the
library's DataFrame path: the same numbers, the same text, the same errors.

Two comparisons. (1) The pandas-free engine on the file read by ``read_csv_table`` against
``fit_mmrm`` / ``cafs_test`` on ``pandas.read_csv`` of the same file, number by number. Both run the
same arithmetic on the same values (the reader is tested bit for bit against pandas in
tests/stats/test_table_csv.py), so the only admissible difference is rounding: relative 1e-10
leaves six orders of magnitude for an ill-conditioned fit to amplify double rounding (1e-16).
(2) The command's whole output with the pandas-free path and with it switched off (the reader
declining every file, as it declines an unusual one): identical stdout, stderr and exit code,
for results and for bad input.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from alstrial import __version__
from alstrial.cli import app
from alstrial.commands import stats_mmrm
from alstrial.stats import cafs as cafs_module
from alstrial.stats import table_csv
from alstrial.stats.cafs import cafs_test
from alstrial.stats.mmrm import fit_mmrm
from alstrial.stats.mmrm.prepare_core import prepare_table
from alstrial.stats.mmrm.spec import MMRMSpec
from alstrial.stats.mmrm.summary import COLUMNS, fit_prepared, summary_report

FEV = Path(__file__).parents[1] / "data" / "fev_data.csv"
RTOL = 1e-10
_runner = CliRunner()


def _fev_with_gaps(tmp_path: Path) -> Path:
    """fev_data with missing covariates (blank RACE, NA baseline), R-style quoted cells and CRLF."""
    lines = FEV.read_text(encoding="utf-8").splitlines()
    out = [lines[0]]
    for i, line in enumerate(lines[1:]):
        cells = line.split(",")
        if i % 17 == 3:
            cells[3] = ""  # RACE
        if i % 23 == 5:
            cells[5] = "NA"  # FEV1_BL
        cells[4] = f'"{cells[4]}"'  # SEX quoted
        out.append(",".join(cells))
    path = tmp_path / "fev_gaps.csv"
    path.write_bytes(("\r\n".join(out) + "\r\n").encode("utf-8"))
    return path


MMRM_CASES: dict[str, dict[str, Any]] = {
    "primary": {"fixed": "RACE + SEX + ARMCD*AVISIT"},
    "baseline covariate, cs, Kenward-Roger": {"fixed": "FEV1_BL + ARMCD*AVISIT", "cov": "cs", "df": "kenward-roger"},
    "groups, ML, reference level": {
        "fixed": "RACE + ARMCD",
        "cov": "ar1",
        "group": "ARMCD",
        "method": "ml",
        "ref": {"RACE": "White"},
    },
    "weights, toeph, between-within": {
        "fixed": "SEX + AVISIT",
        "cov": "toeph",
        "weights": "WEIGHT",
        "df": "between-within",
    },
    "numeric column as a factor": {"fixed": "VISITN + ARMCD", "cov": "csh", "ref": {"VISITN": "2"}},
}


def _mmrm_both(path: Path, options: dict[str, Any]) -> tuple[Any, Any]:
    kw = {"response": "FEV1", "subject": "USUBJID", "visit": "AVISIT", **options}
    table = table_csv.read_csv_table(path)
    assert table is not None  # the plain path applies to these files
    spec = MMRMSpec(**kw)
    fast = summary_report(fit_prepared(spec, prepare_table(spec, table)), __version__)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        slow = fit_mmrm(pd.read_csv(path), **kw)
    return fast, slow


@pytest.mark.parametrize("case", sorted(MMRM_CASES))
@pytest.mark.parametrize("gaps", [False, True], ids=["fev_data", "with gaps"])
def test_mmrm_without_pandas_matches_fit_mmrm(tmp_path: Path, case: str, gaps: bool) -> None:
    path = _fev_with_gaps(tmp_path) if gaps else FEV
    fast, slow = _mmrm_both(path, MMRM_CASES[case])
    assert list(fast.terms) == list(slow.summary.index)
    for column in COLUMNS:
        np.testing.assert_allclose(fast.table[column], slow.summary[column].to_numpy(), rtol=RTOL, atol=0)
    assert fast.minus2ll == pytest.approx(slow.minus2_log_likelihood, rel=RTOL)
    assert (fast.aic, fast.bic) == pytest.approx((slow.aic, slow.bic), rel=RTOL)
    for (group, visits, matrix), (g, c) in zip(fast.covariances, slow.covariances.items(), strict=True):
        assert (group, list(visits)) == (g, list(c.index))
        np.testing.assert_allclose(matrix, c.to_numpy(), rtol=RTOL)
    assert (fast.n_subjects, fast.n_observations) == (slow.n_subjects, slow.n_observations)
    options = MMRM_CASES[case]
    used = ["FEV1", *re.findall(r"\w+", options["fixed"]), *[options[k] for k in ("group", "weights") if k in options]]
    frame = pd.read_csv(path)
    assert fast.n_observations == len(frame.dropna(subset=used))  # plain counting of complete rows
    assert fast.n_subjects == frame.dropna(subset=used)["USUBJID"].nunique()


def _cafs_csv(path: Path, seed: int, n: int, arms: tuple[str, str], visits: int) -> None:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "id": [f"P{i:04d}" for i in range(n)],
            "arm": rng.choice(list(arms), n),
            "t": rng.uniform(1, 12, n).round(2),
            "death": rng.integers(0, 2, n),
            "vent": (rng.random(n) < 0.1).astype(int),
        }
    )
    for v in range(visits):
        change = rng.normal(-3 * (v + 1), 4, n).round(1)
        change[rng.random(n) < 0.2] = np.nan  # missed visits
        frame[f"c{v + 1}"] = change
    frame.to_csv(path, index=False)


CAFS_CASES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "1,000, 0/1 arms": (
        {"seed": 0, "n": 1000, "arms": ("0", "1"), "visits": 1},
        {"event": ["death"], "change": ["c1"]},
    ),
    "text arms, reference, composite, per-visit changes": (
        {"seed": 1, "n": 300, "arms": ("PBO", "MSC"), "visits": 3},
        {"event": ["death", "vent"], "change": ["c1", "c2", "c3"], "subject": "id", "reference": "PBO"},
    ),
    "permutations": (
        {"seed": 2, "n": 80, "arms": ("A", "B"), "visits": 2},
        {"event": ["death"], "change": ["c1", "c2"], "permutations": 200, "seed": 7},
    ),
}


def _cli(args: list[str]) -> tuple[int, str, str]:
    result = _runner.invoke(app, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def _cli_without_pandas(args: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    """The command, failing if it reaches the DataFrame path (for files that are meant not to)."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the DataFrame path ran")

    with monkeypatch.context() as m:
        m.setattr(stats_mmrm, "_fit_frame", refuse)
        m.setattr(cafs_module, "cafs_test", refuse)
        return _cli(args)


def _cli_both(
    args: list[str], monkeypatch: pytest.MonkeyPatch, plain: bool = False
) -> tuple[tuple[int, str, str], tuple[int, str, str]]:
    """The command with the pandas-free path (``plain``: required to run), then with it off (the
    reader declining the file)."""
    fast = _cli_without_pandas(args, monkeypatch) if plain else _cli(args)
    with monkeypatch.context() as m:
        m.setattr(table_csv, "read_csv_table", lambda path: None)
        slow = _cli(args)
    return fast, slow


def _cafs_args(path: Path, kw: dict[str, Any]) -> list[str]:
    args = ["stats", "cafs", "--data", str(path), "--arm", "arm", "--time", "t"]
    args += ["--event", ",".join(kw["event"]), "--change", ",".join(kw["change"])]
    for option in ("subject", "reference", "permutations", "seed"):
        if option in kw:
            args += [f"--{option}", str(kw[option])]
    return args


@pytest.mark.parametrize("case", sorted(CAFS_CASES))
def test_cafs_without_pandas_matches_cafs_test(tmp_path: Path, case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data, kw = CAFS_CASES[case]
    path = tmp_path / "cafs.csv"
    _cafs_csv(path, **data)
    code, stdout, _ = _cli_without_pandas([*_cafs_args(path, kw), "--json"], monkeypatch)
    assert code == 0
    fast = json.loads(stdout)
    slow = cafs_test(pd.read_csv(path), arm="arm", time="t", **kw).to_dict()
    assert fast.keys() == slow.keys()
    for key, value in slow.items():
        if isinstance(value, float):
            assert fast[key] == pytest.approx(value, rel=RTOL), key
        elif isinstance(value, dict) and key == "mean_rank":
            assert fast[key] == pytest.approx(value, rel=RTOL)
        else:
            assert fast[key] == value, key
    n = len(pd.read_csv(path))
    assert sum(fast["n"].values()) == n  # plain counting
    # mean ranks of all N participants average (N + 1) / 2
    mean_of_ranks = sum(fast["n"][a] * fast["mean_rank"][a] for a in fast["n"]) / n
    assert mean_of_ranks == pytest.approx((n + 1) / 2, rel=1e-12)


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=RTOL) or a == b
    return bool(a == b)


def _mmrm_args(path: Path, options: dict[str, Any]) -> list[str]:
    args = ["stats", "mmrm", "--data", str(path), "--response", "FEV1", "--subject", "USUBJID", "--visit", "AVISIT"]
    for key, value in options.items():
        if key == "ref":
            for col, level in value.items():
                args += ["--ref", f"{col}={level}"]
        else:
            args += [f"--{key}", str(value)]
    return args


@pytest.mark.parametrize("case", sorted(MMRM_CASES))
def test_mmrm_command_prints_the_same_either_way(tmp_path: Path, case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    args = _mmrm_args(_fev_with_gaps(tmp_path), MMRM_CASES[case])
    fast, slow = _cli_both(args, monkeypatch, plain=True)
    assert fast == slow and fast[0] == 0  # the text: every printed digit
    (code, out, _), (_, out_slow, _) = _cli_both([*args, "--json"], monkeypatch, plain=True)
    assert code == 0 and _close(json.loads(out), json.loads(out_slow))


@pytest.mark.parametrize("case", sorted(CAFS_CASES))
def test_cafs_command_prints_the_same_either_way(tmp_path: Path, case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data, kw = CAFS_CASES[case]
    path = tmp_path / "cafs.csv"
    _cafs_csv(path, **data)
    fast, slow = _cli_both(_cafs_args(path, kw), monkeypatch, plain=True)
    assert fast == slow and fast[0] == 0
    assert "Finkelstein-Schoenfeld" in fast[1]


# Bad input: the pandas-free path declines it and the library's message is printed, as before.
_FEV_HEAD = "USUBJID,AVISIT,ARMCD,FEV1,W\n"
_FEV_ROWS = "".join(f"S{i},V{v},{'AB'[i % 2]},{30 + i + v / 3},1\n" for i in range(1, 9) for v in (1, 2))
MMRM_ERRORS = [
    (_FEV_HEAD + _FEV_ROWS, ["--fixed", "AGE"], "unknown column(s) ['AGE']"),
    # a text column: the first value is quoted, as the library always has
    (_FEV_HEAD + _FEV_ROWS + "S9,V1,A,abc,1\n", [], "'FEV1' must be numeric (found value '31.333333333333332')"),
    (_FEV_HEAD + _FEV_ROWS + "S9,V1,A,inf,1\n", [], "response column 'FEV1' must hold finite numbers, found inf"),
    (_FEV_HEAD + _FEV_ROWS + "S1,V1,A,3,1\n", [], "subject 'S1' has more than one row at visit 'V1'"),
    (_FEV_HEAD + _FEV_ROWS + "S9,,A,3,1\n", [], "column 'AVISIT' is missing in row 16, which has a response"),
    (_FEV_HEAD + _FEV_ROWS, ["--fixed", "ARMCD", "--ref", "ARMCD=C"], "invalid reference level for 'ARMCD'"),
    (_FEV_HEAD + _FEV_ROWS.replace(",1\n", ",-1\n", 1), ["--weights", "W"], "must be positive numbers (found -1)"),
    (_FEV_HEAD, [], "no observed 'FEV1' (0 row(s))"),
    ("", [], "cannot read CSV"),
    # pandas would end the cell at the NUL byte and read 3: refused, by line (header + 16 rows + 1)
    (_FEV_HEAD + _FEV_ROWS + "S9,V1,A,3\x00,1\n", [], "line 18 holds a NUL byte"),
]


@pytest.mark.parametrize(("text", "extra", "message"), MMRM_ERRORS)
def test_mmrm_bad_input_gives_the_librarys_error(
    tmp_path: Path, text: str, extra: list[str], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "d.csv"
    path.write_text(text, encoding="utf-8")
    fast, slow = _cli_both(_mmrm_args(path, {}) + extra, monkeypatch)
    assert fast == slow
    code, out, err = fast
    assert code == 2 and out == "" and err.startswith("error: ") and message in err, err


_CAFS_HEAD = "id,arm,t,d,c\n"
_CAFS_ROWS = "".join(f"P{i},{'AB'[i % 2]},{i + 0.5},{i % 3 == 0:d},{-i}\n" for i in range(1, 9))
CAFS_ERRORS = [
    (_CAFS_HEAD + _CAFS_ROWS, ["--change", "x"], "column(s) 'x' not found"),
    (_CAFS_HEAD + _CAFS_ROWS + "P9,A,3,2,-1\n", [], "event column 'd' must be 0/1, found 2.0"),
    (_CAFS_HEAD + _CAFS_ROWS + "P9,A,-3,0,-1\n", [], "column 't' has a negative time -3.0"),
    (_CAFS_HEAD + _CAFS_ROWS + "P9,,3,0,-1\n", [], "arm column 'arm' has a missing value in row 8"),
    (_CAFS_HEAD + _CAFS_ROWS + "P9,C,3,0,-1\n", [], "arm column 'arm' must have exactly 2 levels, found 3"),
    (_CAFS_HEAD + _CAFS_ROWS, ["--reference", "PBO"], "reference arm 'PBO' is not a level of 'arm'"),
    (_CAFS_HEAD + _CAFS_ROWS + "P1,A,3,0,-1\n", ["--subject", "id"], "subject 'P1' appears twice"),
    (_CAFS_HEAD + _CAFS_ROWS + "P9,A,3,0,inf\n", [], "column 'c' must hold finite numbers, found inf"),
    (_CAFS_HEAD + _CAFS_ROWS + "P9,A,3,0,x\n", [], "column 'c' must be numeric, found 'x' in row 8"),
    (_CAFS_HEAD + "".join(r.rsplit(",", 1)[0] + ",NA\n" for r in _CAFS_ROWS.splitlines()), [], "have no value"),
    (_CAFS_HEAD + _CAFS_ROWS + "P9,A,3,0,-1\x00\n", [], "line 10 holds a NUL byte"),  # header + 8 rows + 1
]


@pytest.mark.parametrize(("text", "extra", "message"), CAFS_ERRORS)
def test_cafs_bad_input_gives_the_librarys_error(
    tmp_path: Path, text: str, extra: list[str], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "d.csv"
    path.write_text(text, encoding="utf-8")
    args = ["stats", "cafs", "--data", str(path), "--arm", "arm", "--time", "t", "--event", "d", "--change", "c"]
    fast, slow = _cli_both(args + extra, monkeypatch)
    assert fast == slow
    code, out, err = fast
    assert code == 2 and out == "" and err.startswith("error: ") and message in err, err


# Random small files with hostile cells: whichever path runs, the command prints the same.
CELLS = {
    "subj": st.sampled_from([f"s{i}" for i in range(1, 7)]),
    "visit": st.sampled_from(["W4", "W8", "W12"]),
    "arm": st.sampled_from(["PBO", "MSC"]),
    "y": st.floats(-15, 5).map(lambda x: f"{x:.3f}"),
    "time": st.floats(0.5, 12).map(lambda x: f"{x:.2f}"),
    "event": st.sampled_from(["0", "1"]),
}
HOSTILE = st.sampled_from(["", "NA", "inf", "1e400", "abc", "-1", "0", '"x"', "True"])


@st.composite
def hostile_csv(draw: st.DrawFn, columns: tuple[str, ...]) -> str:
    rate = draw(st.sampled_from([0.0, 0.05, 0.3]))
    rows = []
    for _ in range(draw(st.sampled_from([2, 6, 12, 18]))):
        cells = [draw(HOSTILE) if draw(st.floats(0, 1)) < rate else draw(CELLS[c]) for c in columns]
        rows.append(",".join(cells))
    return ",".join(columns) + "\n" + "\n".join(rows) + "\n"


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=hostile_csv(("subj", "visit", "arm", "y")), json_out=st.booleans())
def test_mmrm_random_files_print_the_same_either_way(
    tmp_path: Path, text: str, json_out: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "d.csv"
    path.write_text(text, encoding="utf-8")
    args = ["stats", "mmrm", "--data", str(path), "--response", "y", "--subject", "subj", "--visit", "visit"]
    args += ["--fixed", "arm + visit", *(["--json"] if json_out else [])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fast, slow = _cli_both(args, monkeypatch)
    if json_out and fast[0] == 0:
        assert fast[0] == slow[0] and fast[2] == slow[2] and _close(json.loads(fast[1]), json.loads(slow[1]))
    else:
        assert fast == slow


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=hostile_csv(("subj", "arm", "time", "event", "y")), json_out=st.booleans())
def test_cafs_random_files_print_the_same_either_way(
    tmp_path: Path, text: str, json_out: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "d.csv"
    path.write_text(text, encoding="utf-8")
    args = ["stats", "cafs", "--data", str(path), "--subject", "subj", "--arm", "arm", "--time", "time"]
    args += ["--event", "event", "--change", "y", *(["--json"] if json_out else [])]
    fast, slow = _cli_both(args, monkeypatch)
    assert fast == slow
