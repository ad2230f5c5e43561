"""Reading a revision from the bus: its policy, manifests, parameters, trailers and history."""
