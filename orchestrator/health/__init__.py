"""Is the delivery really good: per-kind status, rules, waiting, soak, verification runs."""
