"""The protocol's pre-/post-treatment slope rule, read once from its responder endpoint.

Both analysis paths (the locked database and the simulator's fast path) and the analysis plan
take ADSL.PRESLOPE and the responder slopes from here, so one protocol gives one definition.
"""

from __future__ import annotations

from alstrial.protocol.models import Protocol
from alstrial.stats.responder_slopes import SlopeRule


def slope_rule(protocol: Protocol) -> SlopeRule:
    """The rule of the protocol's (first) responder endpoint; the default rule if it has none."""
    for endpoint in protocol.endpoints:
        if endpoint.method == "responder":
            return SlopeRule.from_parameters(endpoint.parameters)
    return SlopeRule()
