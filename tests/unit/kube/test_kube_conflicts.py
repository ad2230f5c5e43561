"""Reading managers and fields out of a server-side apply conflict."""

from __future__ import annotations

from orchestrator.kube.conflicts import Conflict, managers_of, parse_conflicts


def test_causes_are_read_first() -> None:
    details = {
        "causes": [
            {"reason": "FieldManagerConflict", "message": 'conflict with "m1"', "field": ".data.k"},
            {
                "reason": "FieldManagerConflict",
                "message": 'conflict with "kubectl-edit" using v1',
                "field": ".metadata.labels.a",
            },
        ]
    }
    found = parse_conflicts("whatever the text says", details)
    assert found == [Conflict("m1", ".data.k"), Conflict("kubectl-edit", ".metadata.labels.a")]
    assert managers_of(found) == ["m1", "kubectl-edit"]


def test_single_conflict_message() -> None:
    message = 'Apply failed with 1 conflict: conflict with "someone-else": .data.owner'
    assert parse_conflicts(message) == [Conflict("someone-else", ".data.owner")]


def test_single_conflict_message_with_version() -> None:
    message = 'Apply failed with 1 conflict: conflict with "OpenAPI-Generator" using v1: .data.k'
    assert parse_conflicts(message) == [Conflict("OpenAPI-Generator", ".data.k")]


def test_several_fields_and_managers_in_the_message() -> None:
    message = (
        'Apply failed with 3 conflicts: conflicts with "a":\n'
        "- .data.x\n"
        "- .data.y\n"
        'conflict with "b" with subresource "status" using apps/v1: .status.z'
    )
    assert parse_conflicts(message) == [
        Conflict("a", ".data.x"),
        Conflict("a", ".data.y"),
        Conflict("b", ".status.z"),
    ]


def test_escaped_quotes_in_a_manager_name() -> None:
    message = r'Apply failed with 1 conflict: conflict with "odd\"name": .spec.x'
    assert managers_of(parse_conflicts(message)) == ['odd"name']


def test_other_causes_are_ignored_and_unknown_text_gives_nothing() -> None:
    details = {"causes": [{"reason": "FieldValueInvalid", "message": "bad", "field": "x"}]}
    assert parse_conflicts("the server said something else", details) == []
