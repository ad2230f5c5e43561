"""The record on the bus: what agents write into git notes, as typed data.

Sits between the bus (`gitbus`, which stores notes verbatim) and everything that
reads or writes them (`health` up to `cli`): the phases and stages, the typed
entry view, the report an agent writes, and the questions asked of a record.
Nothing outside this package and `gitbus` reads a note entry's raw fields.
"""

from orchestrator.record.entry import (
    Entry,
    ObjectRecord,
    PromotionRecord,
    RunRecord,
    entries_of,
    latest,
)
from orchestrator.record.phases import (
    PROMOTION_STAGES,
    ROLLBACK_STAGES,
    SUCCESS_PHASES,
    UNVERIFIED_PHASES,
    VERIFIED_PHASES,
    Phase,
    Stage,
    retry_drift_failure,
)
from orchestrator.record.report import MAX_OBJECTS_IN_NOTE, Report, fenced, precise_timestamp

__all__ = [
    "MAX_OBJECTS_IN_NOTE",
    "PROMOTION_STAGES",
    "ROLLBACK_STAGES",
    "SUCCESS_PHASES",
    "UNVERIFIED_PHASES",
    "VERIFIED_PHASES",
    "Entry",
    "ObjectRecord",
    "Phase",
    "PromotionRecord",
    "Report",
    "RunRecord",
    "Stage",
    "entries_of",
    "fenced",
    "latest",
    "precise_timestamp",
    "retry_drift_failure",
]
