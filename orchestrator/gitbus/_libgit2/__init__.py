"""libgit2 through pygit2, one operation per module: the only importer of pygit2.

This package sits under the bus. It knows objects, refs and transports, and
nothing of the protocol's ref names, where credentials come from, signing or
retrying: callers hand in plain values (a `Remote`, a `sign` callable, ref
prefixes) and get plain values back, or one of the project's GitErrors with
the remote's URL stripped of credentials.
"""
