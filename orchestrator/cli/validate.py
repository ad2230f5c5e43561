"""`orchestrator validate`: check a checkout's policy and manifests offline, for CI."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from orchestrator.cli.main import EXIT_INVALID
from orchestrator.errors import ManifestError, ManifestErrors, PolicyError
from orchestrator.manifests import load_manifests
from orchestrator.manifests.scope import builtin_scope, chain, crd_scopes, table_scope
from orchestrator.promote.policy import POLICY_PATH, Policy, parse_policy


def _files(root: Path) -> dict[str, bytes]:
    files = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if ".git" in rel.parts or not path.is_file() or path.is_symlink():
            continue
        files[rel.as_posix()] = path.read_bytes()
    return files


def _manifest_problems(exc: ManifestError) -> list[str]:
    if isinstance(exc, ManifestErrors):
        return [str(e) for e in exc.errors]
    return [str(exc)]


def validate_checkout(
    root: Path, *, environments: tuple[str, ...], params: dict[str, Any]
) -> tuple[dict[str, int], list[str]]:
    """Objects per environment, and every problem found (empty: valid)."""
    policy_file = root / POLICY_PATH
    if not policy_file.is_file():
        return {}, [f"{POLICY_PATH}: missing"]
    try:
        policy: Policy = parse_policy(policy_file.read_bytes())
    except PolicyError as exc:
        return {}, [str(exc)]
    files = _files(root)
    counts: dict[str, int] = {}
    problems: list[str] = []
    for env in environments or tuple(policy.environments):
        if env not in policy.environments:
            problems.append(f"{POLICY_PATH}: no entry for environment {env!r}")
            continue
        env_policy = policy.environments[env]
        try:
            manifests = load_manifests(
                files,
                root=env_policy.path,
                params=params,
                environment=env,
                default_namespace="default",
            )
        except ManifestError as exc:
            problems.extend(f"{env}: {p}" for p in _manifest_problems(exc))
            continue
        scope = chain(builtin_scope, table_scope(crd_scopes(m.body for m in manifests)))
        for manifest in manifests:
            namespaced = scope(manifest.ref)
            reason = env_policy.allow.refusal(
                manifest.ref,
                namespaced=bool(manifest.ref.namespace) if namespaced is None else namespaced,
            )
            if reason is not None:
                problems.append(f"{env}: {manifest.path}: {reason}")
        counts[env] = len(manifests)
    return counts, problems


def parse_params(values: tuple[str, ...]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--param")
        params[key] = value
    return params


@click.command("validate")
@click.argument("path", default=".", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--env", "environments", multiple=True, help="Only these environments (repeatable).")
@click.option(
    "--param", "param_values", multiple=True, help="KEY=VALUE as an agent setting would give it."
)
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text")
def command(
    path: Path, environments: tuple[str, ...], param_values: tuple[str, ...], output: str
) -> None:
    """Check the policy and manifests of a checkout at PATH, without a cluster.

    Validates .orchestrator/policy.yaml, loads each environment's manifests with
    its parameters (limits, duplicates, missing parameters, object shape) and checks
    them against the environment's `allow` rules. Exit code 3 lists every problem.
    """
    counts, problems = validate_checkout(
        path, environments=environments, params=parse_params(param_values)
    )
    if output == "json":
        click.echo(
            json.dumps({"valid": not problems, "objects": counts, "problems": problems}, indent=2)
        )
    else:
        for env, count in counts.items():
            click.echo(f"{env}: {count} object(s)")
        for problem in problems:
            click.secho(f"problem: {problem}", fg="red", err=True)
        click.echo("valid" if not problems else f"{len(problems)} problem(s)")
    if problems:
        sys.exit(EXIT_INVALID)
