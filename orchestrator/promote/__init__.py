"""Policy, gates and the promotion commit."""
