"""Our trailer parser and `git interpret-trailers --parse` agree, on ours and on anything."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from orchestrator.gitbus.trailers import PROTOCOL_KEYS, format_message, parse_trailers
from tests.integration.gitbus.gitbus_servers import git_env, need_binary

_HOME = tempfile.mkdtemp(prefix="gitbus-trailers-home-")
ENV = git_env(Path(_HOME))


def git_parse(message: str) -> list[str]:
    done = subprocess.run(
        ["git", "interpret-trailers", "--parse"],
        input=message.encode(),
        capture_output=True,
        env=ENV,
        check=True,
        timeout=10,
    )
    return done.stdout.decode().splitlines()


def ours(message: str) -> list[str]:
    return [f"{key}: {value}" for key, value in parse_trailers(message)]


@pytest.fixture(autouse=True, scope="module")
def _git() -> None:
    need_binary("git")
    assert os.path.isdir(_HOME)


keys = st.one_of(
    st.sampled_from(PROTOCOL_KEYS),
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9-]{0,12}", fullmatch=True),
)
one_line = st.text(
    st.characters(
        codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp"), exclude_characters="\x85"
    ),
    min_size=1,
    max_size=30,
)
values = one_line.map(lambda v: v.strip(" \t")).filter(bool)
subjects = one_line.filter(lambda s: s.strip(" \t") == s and not s.startswith("#"))
body_lines = st.one_of(
    one_line,
    st.sampled_from(
        [
            "Key: in body",
            "  indented",
            "# comment",
            "",
            "Signed-off-by: A <a@b>",
            "x:y",
            "--",
            "----x",
        ]
    ),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    subject=subjects,
    body=st.lists(body_lines, max_size=6).map("\n".join),
    trailers=st.lists(st.tuples(keys, values), max_size=5),
)
def test_formatted_messages_roundtrip_through_git(
    subject: str, body: str, trailers: list[tuple[str, str]]
) -> None:
    try:
        message = format_message(subject, body=body, trailers=trailers)
    except ValueError:
        assume(False)
        return
    expected = [f"{k}: {v}" for k, v in trailers]
    assert parse_trailers(message) == trailers
    assert git_parse(message) == expected


LINES = [
    "",
    " ",
    "\t",
    "Subject line",
    "plain text",
    "Key: value",
    "Key:value",
    "Key : spaced",
    "Multi-Word-Key: v",
    "Bug #43: hash in key",
    ":starts with colon",
    "  continuation line",
    "\tcontinuation tab",
    "# a comment",
    "#Key: commented",
    "Signed-off-by: Someone <s@example.com>",
    "(cherry picked from commit 0123abcd)",
    "---",
    "--- divider",
    "---not a divider",
    "Conflicts:",
    "\tpath/in/conflict",
    "# ------------------------ >8 ------------------------",
    "Delivery: feature-x",
    "Promoted-From: dev@" + "a" * 40,
    "Empty:",
    "Héllo: wörld",
    "key-with-trailing-dash-: x",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(st.sampled_from(LINES), min_size=0, max_size=14), final_newline=st.booleans())
def test_arbitrary_messages_parse_like_git(lines: list[str], final_newline: bool) -> None:
    scissors = "# ------------------------ >8 ------------------------"
    if scissors in lines:
        # git 2.39 loops forever when the scissors line follows a patch divider
        before = lines[: lines.index(scissors)]
        assume(not any(line.startswith("---") and line[3:4] in ("", " ") for line in before))
    message = "\n".join(lines) + ("\n" if final_newline and lines else "")
    assert ours(message) == git_parse(message)


@pytest.mark.parametrize(
    "message",
    [
        "Subject\n\nKey: v\n",
        "Subject\n\nbody\n\nA: 1\nB: 2\n  folded\n   more\n",
        "Subject\n\nA: 1\n\n# comment\n",
        "Key: first paragraph is the title\n",
        "Subject\n\nSigned-off-by: x\nnot a trailer\nnot either\n",
        "Subject\n\nSigned-off-by: x\nnot a trailer\nnot either\nnor this\n",
        "Subject\n\nKey: v\n--- \npatch\n\nOther: x\n",
    ],
)
def test_known_shapes(message: str) -> None:
    assert ours(message) == git_parse(message)
