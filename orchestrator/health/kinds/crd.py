"""CustomResourceDefinition: usable once Established; rejected names are Failed.

Facts from kstatus: `NamesAccepted=False` means the plural or kind collides
with another CRD, which only a changed manifest fixes; `Established=False`
with a reason other than `Installing` is also final. Established=True is the
moment custom resources of this kind can be applied, which is why manifests
order CRDs first and why the wait needs this check.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestrator.health.live import Verdict, condition, labelled, not_yet_observed
from orchestrator.health.status import HealthStatus

__all__ = ["check"]


def check(obj: Mapping[str, Any]) -> Verdict:
    if (early := not_yet_observed(obj)) is not None:
        return early
    names = condition(obj, "NamesAccepted")
    if names is not None and names.status == "False":
        return HealthStatus.FAILED, labelled("names not accepted", names.describe())
    terminating = condition(obj, "Terminating")
    if terminating is not None and terminating.status == "True":
        return HealthStatus.PROGRESSING, labelled("terminating", terminating.message)
    return _established(obj)


def _established(obj: Mapping[str, Any]) -> Verdict:
    found = condition(obj, "Established")
    if found is None:
        return HealthStatus.PROGRESSING, "waiting for the API server to establish the CRD"
    if found.status == "True":
        return HealthStatus.HEALTHY, "established"
    if found.status == "False" and found.reason != "Installing":
        return HealthStatus.FAILED, labelled("not established", found.describe())
    return HealthStatus.PROGRESSING, labelled("installing", found.message)
