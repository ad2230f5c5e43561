"""Deciding promotions as pure functions: what to promote where, and what each commit says."""
