"""The read model of the pipeline: what Git says about every environment, for people.

Read from the repository alone (branches, notes, policy), shown as JSON, as the
pipeline page and as the `orchestrator status` table.
"""
