"""The role policy's functions (``services/policy.py``) without a database: the refusal message names
the roles that may do the action, an unknown role may do nothing, site binding and arm visibility.

The expected role sets are the trial's blinding plan as the module docstring states it (pharmacist,
unblinded statistician and DSMB see arms while blinded; investigator, site coordinator and lab
technician work at one site), written out here, not read from the module's constants."""

from __future__ import annotations

import pytest

from alstrial.services import PermissionDenied
from alstrial.services.actor import Actor
from alstrial.services.policy import ROLES, Permission, can, is_site_bound, require, sees_arm

UNBLINDED = {"pharmacist", "unblinded_statistician", "dsmb_member"}
AT_ONE_SITE = {"investigator", "site_coordinator", "lab_technician"}


def test_refusal_names_the_action_and_every_role_allowed_it() -> None:
    monitor = Actor(7, "mona", "monitor")
    with pytest.raises(PermissionDenied) as err:
        require(monitor, Permission.RANDOMIZE)
    assert str(err.value) == "mona (monitor) may not randomize; allowed roles: investigator, site_coordinator"
    coordinator = Actor(8, "sam", "site_coordinator", 1, "S01")
    with pytest.raises(PermissionDenied) as err:
        require(coordinator, Permission.UNBLIND_EMERGENCY)
    assert str(err.value) == "sam (site_coordinator at S01) may not unblind emergency; allowed roles: investigator"
    require(coordinator, Permission.RANDOMIZE)  # allowed: returns without raising


def test_an_unknown_role_may_do_nothing() -> None:
    assert not any(can("ghost", p) for p in Permission)
    with pytest.raises(PermissionDenied, match="allowed roles: admin, data_manager, investigator, "):
        require(Actor(1, "g", "ghost"), Permission.READ_AUDIT)


def test_site_binding_and_arm_visibility_follow_the_blinding_plan() -> None:
    assert {r for r in ROLES if is_site_bound(r)} == AT_ONE_SITE
    assert {r for r in ROLES if sees_arm(r, trial_unblinded=False)} == UNBLINDED
    assert all(sees_arm(r, trial_unblinded=True) for r in ROLES)
    assert not is_site_bound("ghost") and not sees_arm("ghost", trial_unblinded=False)
