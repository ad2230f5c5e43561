"""orchestrator: a per-cluster delivery agent that uses Git as its message bus.

The data flows one way through the packages, and the import-linter contract in
`.importlinter` keeps it so:

    gitbus (poll, read) -> manifests (load, validate, order) -> kube (apply, prune)
    -> health (verdict, runs) -> promote (gates, promotion commit) -> agent -> cli
"""

__version__ = "0.1.0"
