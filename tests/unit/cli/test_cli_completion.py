"""`orchestrator completion`: scripts a shell can load, completing commands and choices."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from orchestrator.cli import main

BIN = Path(sys.executable).parent


def _bash_complete(words: str, cword: int) -> list[str]:
    script = (
        'eval "$(orchestrator completion bash)"\n'
        f"COMP_WORDS=({words}); COMP_CWORD={cword}\n"
        "_orchestrator_completion orchestrator\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    done = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", script],
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completes_commands_and_choices() -> None:
    assert _bash_complete("orchestrator rec", 1) == ["reconcile"]
    assert _bash_complete("orchestrator wait staging --for P", 4) == ["Promoted"]
    assert _bash_complete("orchestrator completion ''", 2) == ["bash", "zsh", "fish"]


@pytest.mark.parametrize(
    ("shell", "marker"),
    [("bash", "complete -o nosort -F"), ("zsh", "#compdef orchestrator"), ("fish", "complete")],
)
def test_each_shell_gets_its_script(shell: str, marker: str) -> None:
    result = CliRunner().invoke(main, ["completion", shell])
    assert result.exit_code == 0, result.output
    assert marker in result.stdout
    assert "_ORCHESTRATOR_COMPLETE" in result.stdout


def test_an_unknown_shell_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["completion", "tcsh"])
    assert result.exit_code == 2
