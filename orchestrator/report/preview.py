"""A candidate's preview as the forge shows it: one commit status and one PR comment.

The target environment's agent compares a `pr/<env>/<feature>` candidate with its
cluster (a server-side dry run) before anyone merges it. What goes out is built
from the object diffs `kube.diff` produced, which mask every Secret value, so no
Secret data can reach the forge. Pure: diffs in, text out.
"""

from __future__ import annotations

from collections.abc import Sequence

from orchestrator.forge.protocol import CommitStatus, StatusState
from orchestrator.kube.diff import ObjectDiff
from orchestrator.report.gates import context

# A forge caps a comment (GitHub at 65536 characters); each diff is cut well below.
MAX_DIFF_LINES = 60
MAX_COMMENT_CHARS = 60_000
_HEADINGS = (("create", "to create"), ("update", "to change"), ("delete", "to delete"))


def marker(env: str) -> str:
    """What identifies the one preview comment of `env` on a pull request."""
    return f"{context(env, 'preview')} comment"


def counts(diffs: Sequence[ObjectDiff]) -> dict[str, int]:
    return {action: sum(d.action == action for d in diffs) for action, _ in _HEADINGS}


def preview_status(
    env: str, *, diffs: Sequence[ObjectDiff] = (), refused: str = "", target_url: str = ""
) -> CommitStatus:
    """`orchestrator/<env>/preview`: failure when the candidate would be refused or the
    dry run fails for an object; else success, with what would change."""
    errors = [d for d in diffs if d.action == "error"]
    if refused or errors:
        reason = refused or f"dry run failed for {errors[0].ref}: {errors[0].note}"
        state = StatusState.FAILURE
    else:
        n = counts(diffs)
        reason = f"{n['create']} to create, {n['update']} to change, {n['delete']} to delete"
        state = StatusState.SUCCESS
    return CommitStatus(
        context=context(env, "preview"), state=state, description=reason, target_url=target_url
    )


def preview_comment(
    env: str, *, sha: str, diffs: Sequence[ObjectDiff] = (), refused: str = ""
) -> str:
    """The comment body: what merging would do to `env`'s cluster, object by object."""
    lines = [f"### Preview in `{env}` of `{sha[:12]}`", ""]
    if refused:
        lines += [f"**The {env} agent would refuse this candidate:** {refused}"]
        return "\n".join(lines)
    changed = [d for d in diffs if d.action != "unchanged"]
    if not changed:
        lines.append(f"Merging changes nothing in `{env}`.")
        return "\n".join(lines)
    for action, heading in (*_HEADINGS, ("error", "failing the dry run")):
        of_kind = [d for d in changed if d.action == action]
        if not of_kind:
            continue
        lines.append(f"**{len(of_kind)} {heading}**")
        lines += [_item(d) for d in of_kind]
        lines.append("")
    lines.append("Secret values are masked. Computed by a server-side dry run against the cluster.")
    body = "\n".join(lines)
    if len(body) > MAX_COMMENT_CHARS:
        body = body[:MAX_COMMENT_CHARS] + "\n\n… (cut; run `orchestrator diff` for the rest)"
    return body


def _item(diff: ObjectDiff) -> str:
    note = f" ({diff.note})" if diff.note else ""
    if not diff.diff:
        return f"- `{diff.ref}`{note}"
    shown = diff.diff.splitlines()
    if len(shown) > MAX_DIFF_LINES:
        shown = [*shown[:MAX_DIFF_LINES], f"… {len(shown) - MAX_DIFF_LINES} more lines"]
    text = "\n".join(shown)
    return (
        f"- <details><summary><code>{diff.ref}</code>{note}</summary>\n\n"
        f"```diff\n{text}\n```\n</details>"
    )
