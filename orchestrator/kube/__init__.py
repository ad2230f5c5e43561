"""The cluster side: apply, inventory, prune, diff (only `client` touches kubernetes)."""
