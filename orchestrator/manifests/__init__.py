"""From files of a commit to an ordered, validated set of objects (no cluster).

manifests = load_manifests(files, root="apps/shop", environment="prod",
                           params=settings_params, default_namespace="shop")
for stage in stages(manifests, namespaced=discovery_scope):
    ...  # apply the stage, wait, go on
"""

from orchestrator.manifests.limits import Limits
from orchestrator.manifests.load import load_manifests
from orchestrator.manifests.manifest import Manifest, canonical_json, digest_of
from orchestrator.manifests.order import Stages, stages
from orchestrator.manifests.params import PARAMS_DIR, Parameters, load_params, params_file
from orchestrator.manifests.scope import Scope

__all__ = [
    "PARAMS_DIR",
    "Limits",
    "Manifest",
    "Parameters",
    "Scope",
    "Stages",
    "canonical_json",
    "digest_of",
    "load_manifests",
    "load_params",
    "params_file",
    "stages",
]
