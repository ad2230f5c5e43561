"""Commit-message trailers as plain values: formatting, git's parsing rules, protocol keys."""

from __future__ import annotations

import pytest

from orchestrator.gitbus.trailers import (
    DeliveryTrailers,
    format_message,
    parse_promoted_from,
    parse_trailers,
)

SHA = "0123456789abcdef0123456789abcdef01234567"


def test_message_with_protocol_trailers() -> None:
    trailers = DeliveryTrailers(
        delivery="add-redis",
        source_commit=SHA,
        promoted_from=("staging", SHA),
        verified_by="agent-staging",
        health="12/12 healthy",
    )
    message = format_message(
        "Promote add-redis to prod", body="Why: soak passed.", trailers=trailers.pairs()
    )
    assert message == (
        "Promote add-redis to prod\n\nWhy: soak passed.\n\n"
        f"Delivery: add-redis\nSource-Commit: {SHA}\nPromoted-From: staging@{SHA}\n"
        "Verified-By: agent-staging\nHealth: 12/12 healthy\n"
    )
    assert DeliveryTrailers.from_message(message) == trailers


def test_message_refuses_what_git_would_misread() -> None:
    with pytest.raises(ValueError, match="subject must be one"):
        format_message("two\nlines")
    with pytest.raises(ValueError, match="would end the message"):
        format_message("subject", body="text\n--- \nmore")
    with pytest.raises(ValueError, match="invalid trailer key"):
        format_message("subject", trailers=[("Bad Key", "v")])
    with pytest.raises(ValueError, match="invalid value"):
        format_message("subject", trailers=[("Key", " padded")])
    with pytest.raises(ValueError, match="invalid value"):
        format_message("subject", trailers=[("Key", "multi\nline")])
    with pytest.raises(ValueError, match="different trailers"):
        format_message("subject", body="Looks: like a trailer")  # and no trailers follow


def test_trailer_parsing_rules() -> None:
    assert parse_trailers("Key: only a title\n") == []
    assert parse_trailers("S\n\nA: 1\nB:  2 \n  folded\n") == [
        ("A", "1"),
        ("B", "2  folded"),
    ]  # as git: only the newline run folds
    assert parse_trailers("S\n\nA: 1\nnot a trailer\n") == []
    assert parse_trailers("S\n\nSigned-off-by: x\nfree text\nA: 1\n") == [
        ("Signed-off-by", "x"),
        ("A", "1"),
    ]
    assert parse_trailers("S\n\nA: 1\n---\nB: 2\n") == [("A", "1")]
    assert parse_trailers("S\n\nA: 1\n\n# comment\n") == [("A", "1")]


def test_promoted_from_and_sha_checks() -> None:
    assert parse_promoted_from(f"dev@{SHA}") == ("dev", SHA)
    for bad in ("dev", f"dev@{SHA[:7]}", f"Dev@{SHA}", f"dev@{SHA.upper()}"):
        with pytest.raises(ValueError, match=r"Promoted-From|invalid environment|object id"):
            parse_promoted_from(bad)
    with pytest.raises(ValueError, match="not a full object id"):
        DeliveryTrailers.from_message(f"S\n\nSource-Commit: {SHA[:10]}\n")
