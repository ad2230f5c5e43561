"""The daemon: reconcile pipeline, scheduling, leadership and the HTTP server."""
