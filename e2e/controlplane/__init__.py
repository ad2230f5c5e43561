"""Real, isolated Kubernetes control planes on 127.0.0.1, without Docker.

python -m e2e.controlplane up --clusters build,staging,production --dir DIR
"""

from e2e.buildcache import BuildError
from e2e.controlplane.binaries import Binaries, ensure_binaries
from e2e.controlplane.cluster import Cluster, ControlPlane, ControlPlaneError, stop_detached

__all__ = [
    "Binaries",
    "BuildError",
    "Cluster",
    "ControlPlane",
    "ControlPlaneError",
    "ensure_binaries",
    "stop_detached",
]
