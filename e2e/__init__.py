"""End-to-end environments: the local control-plane harness and kind scripts."""
