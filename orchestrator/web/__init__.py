"""The HTTP side: a small transport, the push webhook, on-demand reconcile requests, metrics.

Below both the agent and the CLI: the agent serves probes, metrics and triggers
with it, `orchestrator status --serve` the pipeline page, and `orchestrator
reconcile` signs its requests with the same wire format the agent checks.
"""
