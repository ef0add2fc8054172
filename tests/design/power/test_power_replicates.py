"""Per-replicate seeds and the chunk function: a replicate's result depends on its seed only."""

from __future__ import annotations

import numpy as np
import pandas as pd
from power_fixtures import CHEAP, small

from alstrial.design.power.replicates import RESULT_COLUMNS, replicate_seeds, run_chunk


def test_replicate_seeds_are_the_children_of_the_root_seed_sequence() -> None:
    spawned = np.random.SeedSequence(2026).spawn(9)
    direct = replicate_seeds(2026, 4, 9)
    assert [s.generate_state(4).tolist() for s in direct] == [s.generate_state(4).tolist() for s in spawned[4:]]
    assert (
        replicate_seeds(2026, 0, 1)[0].generate_state(2).tolist()
        != replicate_seeds(2027, 0, 1)[0].generate_state(2).tolist()
    )


def test_chunk_rows_do_not_depend_on_how_replicates_are_chunked() -> None:
    whole = run_chunk(small[1], replicate_seeds(7, 0, 3), CHEAP)
    parts = pd.concat(
        [run_chunk(small[1], replicate_seeds(7, 2, 3), CHEAP), run_chunk(small[1], replicate_seeds(7, 0, 2), CHEAP)]
    )
    parts = parts.sort_values(["replicate"], kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(whole, parts)
    assert tuple(whole.columns) == RESULT_COLUMNS
    assert whole["replicate"].tolist() == [0, 0, 1, 1, 2, 2]
    assert whole["analysis"].tolist() == list(CHEAP) * 3
    assert (whole["n_randomized"] == 30).all() and (whole["n_screened"] >= 30).all()
    # different seeds give different trials (a fit may legitimately fail on 30 participants, e.g.
    # perfect separation in the adjusted logistic model: its p value is NaN)
    ok = whole["error"] == ""
    assert ok.sum() >= 4 and whole.loc[ok, "p_value"].nunique() == ok.sum()


def test_rejection_is_p_below_the_protocol_alpha_and_failed_fits_reject_nothing() -> None:
    rows = run_chunk(small[1], replicate_seeds(3, 0, 2), ("mmrm", "cafs"), alpha=0.5)
    ok = rows["error"] == ""
    assert ok.all(), rows["error"].tolist()
    assert (rows["rejected"] == (rows["p_value"] < 0.5)).all()
    # the MMRM estimate is the active-minus-placebo change: a 1 point/month slowing shows as > 0
    assert (rows.loc[rows["analysis"] == "mmrm", "estimate"] > 0).all()


def test_common_random_numbers_same_replicate_same_participants_across_effects() -> None:
    null = run_chunk(small[0], replicate_seeds(5, 0, 1), ("responder_unadjusted",))
    treated = run_chunk(small[1], replicate_seeds(5, 0, 1), ("responder_unadjusted",))
    # the same people were screened and randomized; only the treatment changed their outcome
    assert null["n_screened"].tolist() == treated["n_screened"].tolist()
    assert null["rate_control"].tolist() == treated["rate_control"].tolist()
    assert treated["rate_active"].iloc[0] > null["rate_active"].iloc[0]


def test_every_analysis_runs_on_a_simulated_trial() -> None:
    """A fit that fails (here: perfect separation of 30 participants' responses by 5 covariates)
    is recorded with its error and counts as no rejection; the others give a p value."""
    from alstrial.design.power.analyses import ANALYSES

    rows = run_chunk(small[1], replicate_seeds(9, 0, 1), tuple(ANALYSES)).set_index("analysis")
    ok = rows["error"] == ""
    assert ok[["mmrm", "mmrm_satterthwaite", "mmrm_mi_mar", "mmrm_mi_j2r", "cafs", "slope"]].all(), rows["error"]
    assert rows.loc[ok, "p_value"].between(0, 1).all() and (rows.loc[ok, "std_error"] > 0).all()
    failed = rows[~ok]
    assert failed["p_value"].isna().all() and not failed["rejected"].any()
    assert failed["error"].str.contains("separation").all()
    assert rows.loc["mmrm", "estimate"] == rows.loc["mmrm_satterthwaite", "estimate"]
