"""Which environment comes after which: the columns of the table and the page.

The order follows the policies' promotion chains, as each environment's own
branch states them; without a readable chain, environments go by name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from orchestrator.promote.policy.schema import Policy


def edges(
    names: Sequence[str], policies: Mapping[str, Policy | None]
) -> dict[str, tuple[str, ...]]:
    """`promotion.to` per environment, each from its own branch's policy if it has an entry.

    The policy is read per branch (a production change takes a production merge),
    so an environment's own branch is the authority on where it promotes to; any
    other readable policy that names it fills in when its own branch cannot.
    """
    edges: dict[str, tuple[str, ...]] = {}
    for name in names:
        own = policies.get(name)
        sources = [own] if own is not None else []
        sources += [p for env, p in sorted(policies.items()) if env != name and p is not None]
        for policy in sources:
            if name in policy.environments:
                edges[name] = tuple(policy.environments[name].promotion.to)
                break
    return edges


def promotion_order(
    names: Sequence[str], edges: Mapping[str, Sequence[str]], warnings: list[str]
) -> tuple[list[str], str]:
    """Environments by their longest distance from a chain's start, then by name.

    Fan-out targets share a column rank; environments outside any chain come
    first with the starts. A cycle (or no readable policy) falls back to names.
    """
    present = set(names)
    targets = {n: [t for t in edges.get(n, ()) if t in present and t != n] for n in names}
    if not any(targets.values()):
        return sorted(names), "alphabetical"
    incoming = dict.fromkeys(names, 0)
    for n in names:
        for t in targets[n]:
            incoming[t] += 1
    rank = dict.fromkeys(names, 0)
    ready = sorted(n for n in names if incoming[n] == 0)
    done = 0
    while ready:
        node = ready.pop(0)
        done += 1
        for t in targets[node]:
            rank[t] = max(rank[t], rank[node] + 1)
            incoming[t] -= 1
            if incoming[t] == 0:
                ready.append(t)
        ready.sort()
    if done < len(names):
        warnings.append("the promotion chain has a cycle; environments are shown by name")
        return sorted(names), "alphabetical"
    return sorted(names, key=lambda n: (rank[n], n)), "policy"
