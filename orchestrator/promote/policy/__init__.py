"""The platform team's policy: its schema, gates and schedules, allowances and trust."""
