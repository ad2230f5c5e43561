"""Apply cost: the apply engine against kubectl and against a bare client (the API server's limit).

Starts ONE cluster of the e2e harness (etcd, kube-apiserver, controller
manager, scheduler, kwok) in a temporary directory, generates 500 and 2,000
objects (ConfigMaps, Services and Deployments in equal parts, spread over
namespaces created by the same delivery, 250 objects per namespace) as one
file per object, and times in one run, per size:

  load cold      `load_manifests` with an empty parse cache (a first start)
  engine cold    `deliver()` into namespaces that do not exist yet: discovery,
                 live listing, dry run of everything, apply, inventory write
  engine no-op   `deliver()` of the same objects at a new revision (median of
                 3): inventory read, one metadata list per kind and namespace,
                 inventory write
  no-op + load   what the agent does for a new revision that changed nothing
                 it applies: `load_manifests` (the files are the same blobs, so
                 the parse cache is warm) and then the no-op `deliver()`
  bare cold      a client of a few dozen lines (urllib3, the same concurrency,
                 the same dry-run and apply requests, namespaces first) into a
                 second set of namespaces: no loading, ordering, discovery,
                 inventory or bookkeeping -- what the API server allows
  kubectl cold   `kubectl apply --server-side --force-conflicts -f DIR` of the
                 same objects into a third set of namespaces
  kubectl no-op  the same command again

The engine's cold time includes building the client (its API discovery), as
kubectl's includes its own (its discovery cache starts empty); the no-op runs
reuse that client, as the agent does, and kubectl its discovery cache.
Between runs the cluster settles (the deployment controller has seen every
Deployment), and before each cold run the previous run's namespaces are
deleted, so every cold run meets the same cluster.

Engine, bare client and kubectl take turns, `--repeats` rounds per size (2 by
default), and each figure is the best of its samples: on a machine shared
with other work the smallest time is the one least disturbed. Every sample is
printed, and for the best cold runs the CPU seconds each process used.

The last line is `cold_ratio=<x> noop_ratio=<y> limit_ratio=<z>` for 2,000
objects: engine cold / kubectl cold, (load + engine no-op) / kubectl no-op,
engine cold / bare cold. Targets: no-op at most 0.05, limit at most 1.15; cold
at most 0.5, a target for a control plane with cores to spare (here the
cluster and both clients share two cores).

usage: python bench/apply.py [--sizes 500,2000] [--repeats 2] [--concurrency 8] [--keep]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kubernetes.client
import kubernetes.config
import urllib3
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from e2e.controlplane import Cluster, ControlPlane, ensure_binaries
from orchestrator.kube import ApplyOptions, ChangeSet, InventoryStore, deliver
from orchestrator.kube.client import KubeClient
from orchestrator.manifests import Manifest, load_manifests
from orchestrator.manifests import parse as manifest_parse

OBJECTS_PER_NAMESPACE = 250
AGENT_NAMESPACE = "orchestrator-bench"


# -- the objects -----------------------------------------------------------------------


def objects(count: int, *, prefix: str) -> list[dict[str, Any]]:
    """`count` objects, a third each ConfigMaps, Services and Deployments, plus namespaces."""
    namespaces = [f"{prefix}-{i}" for i in range(max(1, count // OBJECTS_PER_NAMESPACE))]
    out: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}} for ns in namespaces
    ]
    for i in range(count):
        name = f"app-{i:05d}"
        meta = {
            "name": name,
            "namespace": namespaces[i % len(namespaces)],
            "labels": {"app": name, "bench": prefix},
        }
        kind = i % 3
        if kind == 0:
            out.append(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": meta,
                    "data": {"index": str(i), "settings.yaml": f"level: info\nindex: {i}\n" * 8},
                }
            )
        elif kind == 1:
            out.append(
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": meta,
                    "spec": {
                        "selector": {"app": name},
                        "ports": [{"name": "http", "port": 80, "targetPort": 8080}],
                    },
                }
            )
        else:
            out.append(deployment(name, meta, i))
    return out


def deployment(name: str, meta: dict[str, Any], index: int) -> dict[str, Any]:
    # replicas: 0 -- the simulated node holds 110 pods; the deployment controller still
    # creates a ReplicaSet per Deployment and writes status, as in a real cluster.
    container = {
        "name": "app",
        "image": f"registry.example/app:{index % 7}.0",
        "ports": [{"containerPort": 8080}],
        "env": [{"name": "INDEX", "value": str(index)}],
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [container]},
            },
        },
    }


def write_files(objs: list[dict[str, Any]], directory: Path) -> None:
    """One file per object; namespaces first (kubectl applies files in name order)."""
    directory.mkdir(parents=True)
    for index, obj in enumerate(objs):
        meta = obj["metadata"]
        name = f"{index:05d}-{obj['kind'].lower()}-{meta['name']}.yaml"
        (directory / name).write_text(yaml.safe_dump(obj, sort_keys=False))


def read_files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.glob("*.yaml"))}


# -- the API server's own limit ------------------------------------------------------

_PLURALS = {"Namespace": "namespaces", "ConfigMap": "configmaps", "Service": "services"}
_PLURALS["Deployment"] = "deployments"
_METADATA = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"


def bare_apply(kubeconfig: Path, objs: list[dict[str, Any]], *, concurrency: int) -> None:
    """The engine's requests and nothing else: a server-side dry run of every object, then
    its apply, `concurrency` in flight, on urllib3 (what the kubernetes client sends with).

    Namespaces go first (objects cannot be dry-run into a namespace that does not exist
    yet); no loading, ordering, discovery, live listing, inventory or bookkeeping.
    """
    config = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(str(kubeconfig), client_configuration=config)  # type: ignore[no-untyped-call]
    pool = urllib3.PoolManager(
        maxsize=concurrency,
        ca_certs=config.ssl_ca_cert,
        cert_file=config.cert_file,
        key_file=config.key_file,
    )

    def patch(obj: dict[str, Any], dry_run: bool) -> None:
        meta, kind = obj["metadata"], obj["kind"]
        group = "/apis/apps/v1" if kind == "Deployment" else "/api/v1"
        where = f"/namespaces/{meta['namespace']}" if "namespace" in meta else ""
        query = "fieldManager=bench-bare&fieldValidation=Strict" + ("&dryRun=All" * dry_run)
        url = f"{config.host}{group}{where}/{_PLURALS[kind]}/{meta['name']}?{query}"
        headers = {"Content-Type": "application/apply-patch+yaml", "Accept": _METADATA}
        response = pool.request("PATCH", url, body=json.dumps(obj), headers=headers)
        if response.status >= 300:
            raise RuntimeError(f"{kind} {meta['name']}: {response.status} {response.data!r}")

    namespaces = [o for o in objs if o["kind"] == "Namespace"]
    others = [o for o in objs if o["kind"] != "Namespace"]
    with ThreadPoolExecutor(max_workers=concurrency) as workers:
        for batch in (namespaces, others):
            for dry_run in (True, False):
                list(workers.map(functools.partial(patch, dry_run=dry_run), batch))
    pool.clear()


# -- measuring -------------------------------------------------------------------------


@dataclass
class Row:
    """Every sample of one size; the figures are the best (smallest) of each."""

    size: int
    load_cold: list[float] = field(default_factory=list)
    engine_cold: list[float] = field(default_factory=list)
    engine_noop: list[float] = field(default_factory=list)
    # load_manifests of the next revision (same files: parse cache warm) + the no-op deliver
    engine_noop_loaded: list[float] = field(default_factory=list)
    load_warm: list[float] = field(default_factory=list)
    bare_cold: list[float] = field(default_factory=list)
    kubectl_cold: list[float] = field(default_factory=list)
    kubectl_noop: list[float] = field(default_factory=list)
    engine_cpu_cold: list[float] = field(default_factory=list)
    engine_cpu_noop: list[float] = field(default_factory=list)
    # per cold sample: the engine's step durations, and CPU seconds per process
    engine_steps: list[dict[str, float]] = field(default_factory=list)
    engine_cold_cpu: list[dict[str, float]] = field(default_factory=list)
    bare_cold_cpu: list[dict[str, float]] = field(default_factory=list)
    kubectl_cold_cpu: list[dict[str, float]] = field(default_factory=list)

    @property
    def cold_ratio(self) -> float:
        return min(self.engine_cold) / min(self.kubectl_cold)

    @property
    def noop_ratio(self) -> float:
        """No-op including loading the new revision's manifests, as the agent does."""
        return min(self.engine_noop_loaded) / min(self.kubectl_noop)

    @property
    def limit_ratio(self) -> float:
        return min(self.engine_cold) / min(self.bare_cold)

    @property
    def limit_cpu_ratio(self) -> float:
        """CPU seconds of every process (cluster and client) during the best cold runs.

        On a machine shared with other work the wall times measure the neighbours
        too; the CPU a run costs is what the run itself asked of the machine.
        """

        def spent(samples: list[float], cpus: list[dict[str, float]]) -> float:
            used = cpus[samples.index(min(samples))]
            return sum(v for k, v in used.items() if k != "client: kubectl")

        return spent(self.engine_cold, self.engine_cold_cpu) / spent(
            self.bare_cold, self.bare_cold_cpu
        )


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(work: Callable[[], Any]) -> tuple[float, float, Any]:
    cpu, start = cpu_seconds(), time.perf_counter()
    result = work()
    return time.perf_counter() - start, cpu_seconds() - cpu, result


_TICK = os.sysconf("SC_CLK_TCK")


def process_cpu(cluster: Cluster) -> dict[str, float]:
    """CPU seconds (user+sys) used so far by each cluster process, this script, kubectl."""
    used: dict[str, float] = {}
    for name, process in cluster.processes.items():
        try:
            with open(f"/proc/{process.popen.pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[name] = (int(fields[11]) + int(fields[12])) / _TICK
    used["client: engine"] = cpu_seconds()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    used["client: kubectl"] = children.ru_utime + children.ru_stime
    return used


def cpu_during(cluster: Cluster, work: Callable[[], Any]) -> tuple[float, dict[str, float], Any]:
    """Wall time of `work` and the CPU seconds each process used meanwhile."""
    before = process_cpu(cluster)
    took, _, result = timed(work)
    after = process_cpu(cluster)
    return took, {k: after[k] - before.get(k, 0.0) for k in after}, result


def engine_run(
    client: KubeClient,
    manifests: list[Manifest],
    *,
    environment: str,
    revision: str,
    concurrency: int,
) -> ChangeSet:
    """One reconcile as the agent runs it."""
    store = InventoryStore.for_environment(
        client, namespace=AGENT_NAMESPACE, environment=environment
    )
    return deliver(
        client,
        manifests,
        store=store,
        revision=revision,
        apply=ApplyOptions.for_environment(environment, concurrency=concurrency),
    )


def kubectl_run(kubectl: Path, cluster: Cluster, directory: Path, cache: Path) -> None:
    subprocess.run(
        [
            str(kubectl),
            f"--kubeconfig={cluster.kubeconfig}",
            f"--cache-dir={cache}",
            "apply",
            "--server-side",
            "--force-conflicts",
            "--field-manager=bench-kubectl",
            "-f",
            str(directory),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=1800,
    )


def settle(client: KubeClient, namespaces: list[str], *, timeout: float = 300) -> None:
    """Wait until the deployment controller has seen every Deployment, then a moment more."""
    deadline = time.monotonic() + timeout
    for ns in namespaces:
        while True:
            items = client.list(api_version="apps/v1", kind="Deployment", namespace=ns)
            behind = [
                d
                for d in items
                if (d.get("status") or {}).get("observedGeneration")
                != d["metadata"].get("generation")
            ]
            if not behind:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{len(behind)} deployments in {ns} never observed")
            time.sleep(1)
    time.sleep(3)


def delete_namespaces(client: KubeClient, namespaces: list[str], *, timeout: float = 600) -> None:
    for ns in namespaces:
        client.delete(api_version="v1", kind="Namespace", name=ns)
    deadline = time.monotonic() + timeout
    for ns in namespaces:
        while client.get(api_version="v1", kind="Namespace", name=ns) is not None:
            if time.monotonic() > deadline:
                raise RuntimeError(f"namespace {ns} is still terminating")
            time.sleep(1)
    time.sleep(3)


def namespaces_of(objs: list[dict[str, Any]]) -> list[str]:
    return [o["metadata"]["name"] for o in objs if o["kind"] == "Namespace"]


@dataclass
class Bench:
    """What every round needs."""

    cluster: Cluster
    kubectl: Path
    work: Path
    concurrency: int
    admin: KubeClient
    log: Callable[[str], None]


def measure(size: int, *, bench: Bench, repeats: int) -> Row:
    """Engine and kubectl in turn, `repeats` times, each from the same cluster state."""
    row = Row(size=size)
    for rep in range(repeats):
        one_round(row, bench, rep=rep)
    return row


def one_round(row: Row, bench: Bench, *, rep: int) -> None:
    size, log, admin = row.size, bench.log, bench.admin
    tag = f"{size} #{rep + 1}"
    engine_objs = objects(size, prefix=f"e{size}r{rep}")
    bare_objs = objects(size, prefix=f"b{size}r{rep}")
    kubectl_objs = objects(size, prefix=f"k{size}r{rep}")
    engine_dir = bench.work / f"engine-{size}-{rep}"
    kubectl_dir = bench.work / f"kubectl-{size}-{rep}"
    write_files(engine_objs, engine_dir)
    write_files(kubectl_objs, kubectl_dir)
    files = read_files(engine_dir)
    manifest_parse.cache.clear()
    took, _, manifests = timed(lambda: load_manifests(files))
    row.load_cold.append(took)
    log(f"{tag}: load_manifests, cold {took:.2f}s")

    # Like the agent: the client (and its discovery) is built for the first reconcile,
    # inside the cold run's time, and kept for the next ones.
    clients: list[KubeClient] = []

    def engine(revision: str, delivery: list[Manifest]) -> ChangeSet:
        if not clients:
            clients.append(KubeClient.from_kubeconfig(bench.cluster.kubeconfig))
        return engine_run(
            clients[0],
            delivery,
            environment=f"bench-{size}-{rep}",
            revision=revision,
            concurrency=bench.concurrency,
        )

    took, used, changes = cpu_during(bench.cluster, lambda: engine("cold", manifests))
    row.engine_cold.append(took)
    row.engine_cpu_cold.append(used["client: engine"])
    row.engine_cold_cpu.append(used)
    row.engine_steps.append({str(k): v for k, v in changes.durations.items()})
    log(f"{tag}: engine cold {took:.2f}s ({changes.summary()}; {changes.timings()})")
    settle(admin, namespaces_of(engine_objs))
    noops = [timed(functools.partial(engine, f"noop-{n}", manifests)) for n in range(3)]
    row.engine_noop.append(statistics.median(t for t, _, _ in noops))
    row.engine_cpu_noop.append(statistics.median(c for _, c, _ in noops))
    log(f"{tag}: engine no-op {row.engine_noop[-1]:.2f}s ({noops[-1][2].summary()})")

    # The agent's no-op at a new revision: load it (the files are the same blobs, so
    # the parse cache is warm), then deliver it.
    def reload_and_deliver(revision: str) -> float:
        took, _, delivery = timed(lambda: load_manifests(files))
        engine(revision, delivery)
        return took

    loaded = [timed(functools.partial(reload_and_deliver, f"next-{n}")) for n in range(3)]
    row.engine_noop_loaded.append(statistics.median(t for t, _, _ in loaded))
    row.load_warm.append(statistics.median(load for _, _, load in loaded))
    log(f"{tag}: load + engine no-op {row.engine_noop_loaded[-1]:.2f}s")
    clients[0].close()
    delete_namespaces(admin, namespaces_of(engine_objs))

    kubeconfig = Path(bench.cluster.kubeconfig)
    took, used, _ = cpu_during(
        bench.cluster,
        lambda: bare_apply(kubeconfig, bare_objs, concurrency=bench.concurrency),
    )
    row.bare_cold.append(took)
    row.bare_cold_cpu.append(used)
    log(f"{tag}: bare client cold {took:.2f}s")
    settle(admin, namespaces_of(bare_objs))
    delete_namespaces(admin, namespaces_of(bare_objs))

    cache = bench.work / f"kubectl-cache-{size}-{rep}"

    def kubectl() -> None:
        kubectl_run(bench.kubectl, bench.cluster, kubectl_dir, cache)

    took, used, _ = cpu_during(bench.cluster, kubectl)
    row.kubectl_cold.append(took)
    row.kubectl_cold_cpu.append(used)
    log(f"{tag}: kubectl cold {took:.2f}s")
    settle(admin, namespaces_of(kubectl_objs))
    took, _, _ = timed(kubectl)
    row.kubectl_noop.append(took)
    log(f"{tag}: kubectl no-op {took:.2f}s")
    delete_namespaces(admin, namespaces_of(kubectl_objs))


def _samples(values: list[float]) -> str:
    return " ".join(f"{v:.2f}" for v in values)


def report(rows: list[Row]) -> None:
    print()
    print("best of each (seconds; no-op+load = load_manifests of the next revision + no-op):")
    print(
        f"{'objects':>7}  {'engine cold':>11}  {'bare cold':>9}  {'kubectl cold':>12}  "
        f"{'engine no-op':>12}  {'no-op+load':>10}  {'kubectl no-op':>13}  "
        f"{'load cold':>9}  {'load warm':>9}"
    )
    for r in rows:
        print(
            f"{r.size:>7}  {min(r.engine_cold):>10.2f}s  {min(r.bare_cold):>8.2f}s  "
            f"{min(r.kubectl_cold):>11.2f}s  {min(r.engine_noop):>11.2f}s  "
            f"{min(r.engine_noop_loaded):>9.2f}s  {min(r.kubectl_noop):>12.2f}s  "
            f"{min(r.load_cold):>8.2f}s  {min(r.load_warm):>8.2f}s"
        )
    print()
    print("ratios (engine / baseline):")
    print(
        f"{'objects':>7}  {'cold/kubectl':>12}  {'cold/bare':>9}  {'no-op+load/kubectl':>18}  "
        f"{'no-op+cold load/kubectl':>23}  {'cold CPU/bare CPU':>17}"
    )
    for r in rows:
        cold_load = (min(r.engine_noop) + min(r.load_cold)) / min(r.kubectl_noop)
        print(
            f"{r.size:>7}  {r.cold_ratio:>12.3f}  {r.limit_ratio:>9.3f}  {r.noop_ratio:>18.3f}  "
            f"{cold_load:>23.3f}  {r.limit_cpu_ratio:>17.3f}"
        )
    print()
    print("every sample, in run order (seconds):")
    for r in rows:
        print(f"  {r.size:>5} engine cold   {_samples(r.engine_cold)}")
        print(f"  {r.size:>5} bare cold     {_samples(r.bare_cold)}")
        print(f"  {r.size:>5} kubectl cold  {_samples(r.kubectl_cold)}")
        print(f"  {r.size:>5} engine no-op  {_samples(r.engine_noop)}  (each a median of 3)")
        print(f"  {r.size:>5} no-op+load    {_samples(r.engine_noop_loaded)}  (each a median of 3)")
        print(f"  {r.size:>5} kubectl no-op {_samples(r.kubectl_noop)}")
        print(f"  {r.size:>5} load cold     {_samples(r.load_cold)}")
        print(f"  {r.size:>5} load warm     {_samples(r.load_warm)}  (each a median of 3)")
    print("engine CPU in this process (user+sys), cold / no-op:")
    for r in rows:
        print(f"  {r.size:>5}: {min(r.engine_cpu_cold):.2f}s / {min(r.engine_cpu_noop):.2f}s")
    print("where the best cold runs went (CPU seconds per process during the run):")
    for r in rows:
        for label, samples, cpus in (
            ("engine ", r.engine_cold, r.engine_cold_cpu),
            ("bare   ", r.bare_cold, r.bare_cold_cpu),
            ("kubectl", r.kubectl_cold, r.kubectl_cold_cpu),
        ):
            _cpu_line(r.size, label, samples, cpus)
        best = r.engine_cold.index(min(r.engine_cold))
        steps = ", ".join(f"{k} {v:.2f}s" for k, v in r.engine_steps[best].items())
        print(f"  {r.size:>5} engine steps: {steps}")
    last = next((r for r in rows if r.size == 2000), rows[-1])
    print()
    print(
        f"cold_ratio={last.cold_ratio:.3f} noop_ratio={last.noop_ratio:.3f} "
        f"limit_ratio={last.limit_ratio:.3f}"
    )


def _cpu_line(size: int, label: str, samples: list[float], cpus: list[dict[str, float]]) -> None:
    best = samples.index(min(samples))
    used = {k: v for k, v in cpus[best].items() if v >= 0.05}
    used.pop("client: engine" if label == "kubectl" else "client: kubectl", None)
    if label.strip() == "bare":
        used["client: bare"] = used.pop("client: engine", 0.0)
    busy = sum(used.values()) / samples[best]
    parts = "  ".join(f"{k} {v:.1f}" for k, v in used.items())
    print(
        f"  {size:>5} {label} {samples[best]:6.2f}s  {parts}  "
        f"= {busy:.2f} of {os.cpu_count()} cores busy"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="500,2000")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--repeats", type=int, default=2, help="alternating engine/kubectl rounds per size"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    def log(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    binaries = ensure_binaries()
    work = Path(tempfile.mkdtemp(prefix="bench-apply-"))
    rows: list[Row] = []
    try:
        with ControlPlane(directory=work / "cluster", binaries=binaries) as plane:
            cluster = plane.start(["bench"])["bench"]
            log(f"cluster up at {cluster.server}; work dir {work}")
            admin = KubeClient.from_kubeconfig(cluster.kubeconfig)
            admin.apply(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": AGENT_NAMESPACE}},
                field_manager="bench",
            )
            bench = Bench(
                cluster=cluster,
                kubectl=binaries.kubectl,
                work=work,
                concurrency=args.concurrency,
                admin=admin,
                log=log,
            )
            for size in sizes:
                rows.append(measure(size, bench=bench, repeats=args.repeats))
            admin.close()
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    report(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
