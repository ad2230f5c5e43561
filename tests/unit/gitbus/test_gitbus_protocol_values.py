"""Plain-value rules of the bus protocol: names, object ids, notes and their merge."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.gitbus import protocol
from orchestrator.gitbus.protocol import NoteDocument, NoteEntry, merge_notes, parse_note

SHA = "0123456789abcdef0123456789abcdef01234567"


def test_ref_names() -> None:
    assert protocol.env_branch("staging") == "refs/heads/staging"
    assert protocol.feature_branch("staging", "add-redis") == "refs/heads/pr/staging/add-redis"
    assert protocol.notes_ref("prod") == "refs/notes/orchestrator/prod"
    assert protocol.parse_branch("refs/heads/pr/staging/add-redis") == ("staging", "add-redis")
    assert protocol.parse_branch("refs/heads/staging/add-redis") is None
    assert protocol.parse_branch("refs/heads/staging") == ("staging", None)
    assert protocol.parse_branch("refs/heads/Bad Name") is None
    assert protocol.parse_branch("refs/tags/v1") is None
    for bad in ("", "Prod", "a/b", "-x", "x" * 64, "a..b", "pr", "control"):
        with pytest.raises(ValueError, match="invalid environment"):
            protocol.env_branch(bad)
    assert protocol.control_ref("staging") == "refs/heads/control/staging"
    assert protocol.parse_branch("refs/heads/control/staging") is None
    assert protocol.ref_matches(protocol.CONTROL_GLOB, "refs/heads/control/staging")
    for bad in ("", ".hidden", "a..b", "x.lock", "a/b", "-x", "with space"):
        with pytest.raises(ValueError, match="invalid feature"):
            protocol.feature_branch("dev", bad)


def test_watch_patterns_match_one_component() -> None:
    glob = protocol.feature_glob("staging")
    assert glob == "refs/heads/pr/staging/*"
    assert protocol.ref_matches(glob, "refs/heads/pr/staging/x")
    assert not protocol.ref_matches(glob, "refs/heads/pr/staging")
    assert not protocol.ref_matches(glob, "refs/heads/pr/staging/x/y")
    assert not protocol.ref_matches(glob, "refs/heads/pr/stagingx/y")
    assert protocol.ref_matches(protocol.NOTES_GLOB, "refs/notes/orchestrator/dev")
    assert protocol.ref_matches("refs/heads/dev", "refs/heads/dev")
    for bad in ("dev", "refs/tags/x", "refs/heads/**", "refs/heads/a b"):
        with pytest.raises(ValueError, match="invalid watch pattern"):
            protocol.check_watch_pattern(bad)


def test_sha_check() -> None:
    assert protocol.check_sha(SHA) == SHA
    for bad in (SHA[:7], SHA.upper(), SHA + "0", ""):
        with pytest.raises(ValueError, match="not a full object id"):
            protocol.check_sha(bad)


def entry(i: int, *, at: str = "2024-05-01T12:00:00Z", **fields: object) -> NoteEntry:
    return NoteEntry(id=f"e{i}", at=at, agent="dev", phase="applied", fields=fields)


def test_note_render_is_canonical_json() -> None:
    doc = NoteDocument.of([entry(2, at="2024-05-01T12:01:00Z", objects=["a"]), entry(1)])
    text = doc.render()
    parsed = json.loads(text)
    assert parsed["schema"] == protocol.NOTE_SCHEMA
    assert [e["id"] for e in parsed["entries"]] == ["e1", "e2"]
    assert parsed["entries"][1]["objects"] == ["a"]
    assert parse_note(text) == doc
    assert parse_note(text).render() == text
    assert doc.latest() == entry(2, at="2024-05-01T12:01:00Z", objects=["a"])


def test_foreign_notes_survive() -> None:
    doc = parse_note("written by hand\n")
    assert [e.phase for e in doc.entries] == ["foreign"]
    merged = merge_notes(doc, NoteDocument.of([entry(1)]))
    assert len(merged.entries) == 2
    assert parse_note(merged.render()) == merged
    odd = parse_note(
        json.dumps({"schema": protocol.NOTE_SCHEMA, "entries": [{"id": 1}, entry(3).to_json()]})
    )
    assert sorted(e.phase for e in odd.entries) == ["applied", "foreign"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=6,
)
entries = st.builds(
    NoteEntry,
    id=st.sampled_from(["a", "b", "c", "d"]),
    at=st.sampled_from(["2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z"]),
    agent=st.sampled_from(["dev", "prod"]),
    phase=st.sampled_from(["applied", "healthy", "failed"]),
    fields=st.dictionaries(
        st.sampled_from(["objects", "error", "health"]), json_values, max_size=2
    ),
)
docs = st.lists(entries, max_size=5).map(NoteDocument.of)


@settings(deadline=None)
@given(docs, docs, docs)
def test_note_merge_is_a_union(a: NoteDocument, b: NoteDocument, c: NoteDocument) -> None:
    ab = merge_notes(a, b)
    assert ab == merge_notes(b, a)
    assert merge_notes(ab, c) == merge_notes(a, merge_notes(b, c))
    assert merge_notes(ab, ab) == ab
    assert set(a.entries) | set(b.entries) == set(ab.entries)  # nothing dropped
    assert parse_note(ab.render()) == ab
