"""From files of a commit to an ordered, validated set of objects (no cluster)."""
