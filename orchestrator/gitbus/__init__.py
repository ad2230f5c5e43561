"""The Git side: the bus the agents talk over (only `repo` touches pygit2)."""
