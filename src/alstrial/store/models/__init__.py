"""ORM models of the capture database, one module per concept."""

from alstrial.store.models.allocation import AllocationSlot
from alstrial.store.models.audit import AuditHead, AuditRecord
from alstrial.store.models.disposition import StudyWithdrawal, TreatmentDiscontinuation
from alstrial.store.models.lab import CsfSample, LabResult
from alstrial.store.models.participant import EligibilityOutcome, Participant
from alstrial.store.models.product import Administration, BoneMarrowAspiration, ProductLot
from alstrial.store.models.query import DataQuery
from alstrial.store.models.safety import AdverseEvent, IntercurrentEvent
from alstrial.store.models.signature import MinimizationDecision, Signature
from alstrial.store.models.trial import (
    LockEvent,
    RequestKey,
    ScheduledVisit,
    Site,
    Stratum,
    Trial,
    UnblindingEvent,
    User,
)
from alstrial.store.models.visit import AlsfrsAssessment, VisitRecord, VitalCapacity, WeightMeasurement

__all__ = [
    "Administration",
    "AdverseEvent",
    "AllocationSlot",
    "AlsfrsAssessment",
    "AuditHead",
    "AuditRecord",
    "BoneMarrowAspiration",
    "CsfSample",
    "DataQuery",
    "EligibilityOutcome",
    "IntercurrentEvent",
    "LabResult",
    "LockEvent",
    "MinimizationDecision",
    "Participant",
    "ProductLot",
    "RequestKey",
    "ScheduledVisit",
    "Signature",
    "Site",
    "Stratum",
    "StudyWithdrawal",
    "TreatmentDiscontinuation",
    "Trial",
    "UnblindingEvent",
    "User",
    "VisitRecord",
    "VitalCapacity",
    "WeightMeasurement",
]
