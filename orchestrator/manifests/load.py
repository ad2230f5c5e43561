"""From a commit's files to the delivery's validated objects, with no cluster.

The steps, each its own module: select the files (selection), parse them
under the limits (parse, limits), expand `kind: List`, fill parameters
(params), validate and default namespaces (validate, scope), and refuse
duplicates. Apply order is a separate step (`order.stages`).

Problems are collected, so one run reports every bad file of a delivery: one
problem is raised as itself, several as `ManifestErrors`. Two kinds of
problem stop the load at once instead: crossing `Limits.max_objects` (the
delivery as a whole is too big; going on would spend what the limit saves),
and a parameter file that cannot be read (every placeholder depends on it).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from orchestrator.errors import (
    InvalidObject,
    ManifestError,
    ManifestErrors,
    ManifestLimitExceeded,
)
from orchestrator.manifests.limits import Budget, Limits
from orchestrator.manifests.manifest import Manifest
from orchestrator.manifests.params import Parameters, load_params, substitute
from orchestrator.manifests.parse import parse_file
from orchestrator.manifests.scope import Scope, builtin_scope, chain, crd_scopes, table_scope
from orchestrator.manifests.selection import manifest_files, normalize_root
from orchestrator.manifests.validate import best_ref, duplicates, validate_object

_DEFAULT_LIMITS = Limits()


@dataclass(frozen=True, slots=True)
class _Found:
    """An object read from a file, before validation."""

    path: str
    where: str
    obj: dict[str, Any]


def load_manifests(
    files: Mapping[str, bytes],
    *,
    root: str = "",
    params: Mapping[str, Any] | None = None,
    environment: str | None = None,
    default_namespace: str | None = None,
    namespaced: Scope | None = None,
    limits: Limits = _DEFAULT_LIMITS,
) -> list[Manifest]:
    """The delivery's objects in source order: files by path, then as written in each file.

    files: repo-relative POSIX path -> content, as read from the commit's tree.
    root: the delivery's directory; files outside it are not read.
    params: parameters from the agent settings; they override the
        environment's file `<root>/.orchestrator/params/<environment>.yaml`,
        which is read only when `environment` is given.
    default_namespace: given to namespaced objects that name no namespace.
    namespaced: the scope of kinds beyond the built-in table and the
        delivery's own CRDs (the kube layer passes API discovery's answer).

    Raises a ManifestError subclass naming the file (and object when known).
    """
    selected, errors = manifest_files(files, root=root, limits=limits)
    parameters = _parameters(
        files, root=root, environment=environment, params=params, limits=limits, errors=errors
    )

    found = _read(selected, params=parameters, limits=limits, errors=errors)
    scope = chain(namespaced, table_scope(crd_scopes(f.obj for f in found)), builtin_scope)
    manifests = _validated(found, scope=scope, default_namespace=default_namespace, errors=errors)
    errors.extend(duplicates(manifests))

    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ManifestErrors(errors, path=normalize_root(root) or ".")
    return manifests


def _read(
    selected: Mapping[str, bytes],
    *,
    params: Parameters,
    limits: Limits,
    errors: list[ManifestError],
) -> list[_Found]:
    """Every object of the selected files, parameters filled; problems go to `errors`."""
    found: list[_Found] = []
    total = 0
    for path, data in selected.items():
        budget = Budget(limits, path=path)
        try:
            objects = list(_objects(parse_file(data, path=path, budget=budget), path=path))
        except ManifestError as exc:
            errors.append(exc)
            continue
        total += len(objects)
        if total > limits.max_objects:
            raise ManifestLimitExceeded(
                f"brings the delivery over {limits.max_objects:,} objects", path=path
            )
        if not _may_hold_placeholders(data):
            found.extend(item for item in objects if _kept(item, errors))
            continue
        try:
            found.extend(_fill(objects, params=params, budget=budget, errors=errors))
        except ManifestLimitExceeded as exc:
            errors.append(exc)
    return found


def _validated(
    found: list[_Found],
    *,
    scope: Scope,
    default_namespace: str | None,
    errors: list[ManifestError],
) -> list[Manifest]:
    """The objects that pass validation, as Manifests; the others' problems go to `errors`."""
    manifests: list[Manifest] = []
    for item in found:
        try:
            body = validate_object(
                item.obj,
                path=item.path,
                where=item.where,
                scope=scope,
                default_namespace=default_namespace,
            )
        except InvalidObject as exc:
            errors.append(exc)
            continue
        manifests.append(Manifest.of(body, path=item.path))
    return manifests


def _parameters(
    files: Mapping[str, bytes],
    *,
    root: str,
    environment: str | None,
    params: Mapping[str, Any] | None,
    limits: Limits,
    errors: list[ManifestError],
) -> Parameters:
    try:
        return load_params(
            files, root=root, environment=environment, overrides=params, limits=limits
        )
    except ManifestError as exc:
        if not errors:
            raise
        raise ManifestErrors([*errors, exc], path=normalize_root(root) or ".") from None


def _may_hold_placeholders(data: bytes) -> bool:
    """Whether a parsed string of this file can contain `$(`: written out, or escaped."""
    return b"$(" in data or b"\\" in data


def _kept(item: _Found | InvalidObject, errors: list[ManifestError]) -> TypeGuard[_Found]:
    """Whether `item` is an object; an error goes to `errors` instead."""
    if isinstance(item, InvalidObject):
        errors.append(item)
        return False
    return True


def _fill(
    objects: list[_Found | InvalidObject],
    *,
    params: Parameters,
    budget: Budget,
    errors: list[ManifestError],
) -> list[_Found]:
    """The file's objects with parameters filled; problems go to `errors`.

    A limit crossed while filling stops the whole file: nothing of it is kept.
    """
    filled: list[_Found] = []
    for item in objects:
        if isinstance(item, InvalidObject):
            errors.append(item)
            continue
        value, problems = substitute(item.obj, params=params, budget=budget, ref=best_ref(item.obj))
        errors.extend(problems)
        if not problems:
            filled.append(_Found(path=item.path, where=item.where, obj=value))
    return filled


def _objects(documents: list[Any], *, path: str) -> Iterator[_Found | InvalidObject]:
    """Every object of a file, `kind: List` expanded; non-objects come out as errors."""
    for index, document in enumerate(documents, start=1):
        if document is not None:
            yield from _expand(document, path=path, where=f"document {index}")


def _expand(value: Any, *, path: str, where: str) -> Iterator[_Found | InvalidObject]:
    if not isinstance(value, dict):
        kind = "a list" if isinstance(value, list) else f"a {type(value).__name__}"
        yield InvalidObject(f"{where}: is {kind}, not an object (a mapping)", path=path)
        return
    if not _is_list(value):
        yield _Found(path=path, where=where, obj=value)
        return
    items = value.get("items")
    if not isinstance(items, list):
        yield InvalidObject(f"{where}: a List needs `items`, a list of objects", path=path)
        return
    for index, item in enumerate(items):
        yield from _expand(item, path=path, where=f"{where}, items[{index}]")


def _is_list(obj: dict[str, Any]) -> bool:
    """`kind: List`, or `kind: <Kind>List` with `items` (what kubectl also flattens)."""
    kind = obj.get("kind")
    if kind == "List":
        return True
    return isinstance(kind, str) and kind.endswith("List") and isinstance(obj.get("items"), list)
