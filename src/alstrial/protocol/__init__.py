"""The trial as data: protocol models, the TOML loader and the shipped seed trial."""

from alstrial.protocol.errors import ProtocolError
from alstrial.protocol.loader import default_protocol_path, load_protocol, parse_protocol, protocol_from_mapping
from alstrial.protocol.models import (
    Analyte,
    Arm,
    Assessment,
    Dose,
    Dosing,
    EligibilityCriterion,
    Endpoint,
    Protocol,
    Randomization,
    ScreeningField,
    Site,
    StratificationFactor,
    Visit,
)

__all__ = [
    "Analyte",
    "Arm",
    "Assessment",
    "Dose",
    "Dosing",
    "EligibilityCriterion",
    "Endpoint",
    "Protocol",
    "ProtocolError",
    "Randomization",
    "ScreeningField",
    "Site",
    "StratificationFactor",
    "Visit",
    "default_protocol_path",
    "load_protocol",
    "parse_protocol",
    "protocol_from_mapping",
]
