"""`--log-format json`: one parseable object per record, a traceback kept inside it."""

from __future__ import annotations

import json
import logging

import pytest
from click.testing import CliRunner

from orchestrator.cli import logs, main


def test_json_records_are_one_line_each_with_the_traceback_inside(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logs.configure(verbose=0, log_format="json")
    log = logging.getLogger("orchestrator.agent")
    log.info("staging: applied %d objects", 3)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        log.exception("reconcile failed")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["msg"] == "staging: applied 3 objects"
    assert (first["level"], first["logger"]) == ("info", "orchestrator.agent")
    assert first["ts"].endswith("+00:00")
    assert second["level"] == "error"
    assert "RuntimeError: boom" in second["error"]


def test_text_stays_the_default_and_third_party_chatter_is_quiet(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logs.configure(verbose=0, log_format="text")
    logging.getLogger("orchestrator.agent").info("hello")
    logging.getLogger("urllib3").info("connection pool chatter")
    err = capsys.readouterr().err
    assert "INFO    orchestrator.agent: hello" in err
    assert "chatter" not in err


def test_the_option_and_its_environment_variable_reach_the_logs() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert "--log-format [text|json]" in result.output
    assert "ORCHESTRATOR_LOG_FORMAT" in result.output
    result = CliRunner().invoke(main, ["--log-format", "xml", "status"])
    assert result.exit_code == 2
