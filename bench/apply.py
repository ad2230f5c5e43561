"""Apply cost: the apply engine against `kubectl apply --server-side --force-conflicts`.

Starts ONE cluster of the e2e harness (etcd, kube-apiserver, controller
manager, scheduler, kwok) in a temporary directory, generates 500 and 2,000
objects (ConfigMaps, Services and Deployments in equal parts, spread over
namespaces created by the same delivery, 250 objects per namespace) as one
file per object, and times in one run, per size:

  engine cold    `deliver()` into namespaces that do not exist yet: discovery,
                 live listing, dry run of everything, apply, inventory write
  engine no-op   `deliver()` of the same objects at a new revision (median of
                 3): inventory read, one metadata list per kind and namespace,
                 inventory write
  kubectl cold   `kubectl apply --server-side --force-conflicts -f DIR` of the
                 same objects into a second set of namespaces
  kubectl no-op  the same command again

The engine's cold time includes building the client (its API discovery), as
kubectl's includes its own (its discovery cache starts empty); the no-op runs
reuse that client, as the agent does, and kubectl its discovery cache. Engine
times do not include loading the manifests (`load_manifests`, another stage
of the pipeline), which is printed beside them; kubectl parses its files
within its time.
Between runs the cluster settles (the deployment controller has seen every
Deployment), and before each cold run the previous run's namespaces are
deleted, so every cold run meets the same cluster.

Engine and kubectl take turns, `--repeats` rounds per size (2 by default),
and each figure is the best of its samples: on a machine shared with other
work the smallest time is the one least disturbed. Every sample is printed.

For the best cold run of each, the script also prints where the time went:
the engine's steps (from the ChangeSet's durations) and the CPU seconds each
process used during the run (kube-apiserver, etcd, the controller manager,
the client), with the number of cores they kept busy on average. On a
machine where the cluster already fills the cores during kubectl's run, no
client can be much faster than kubectl; this section shows whether that is
the case.

The last line is `cold_ratio=<x> noop_ratio=<y>` for 2,000 objects: engine
time / kubectl time. Targets: cold at most 0.5, no-op at most 0.1.

usage: python bench/apply.py [--sizes 500,2000] [--repeats 2] [--concurrency 8] [--keep]
"""

from __future__ import annotations

import argparse
import functools
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from e2e.controlplane import Cluster, ControlPlane, ensure_binaries
from orchestrator.kube import ApplyOptions, ChangeSet, InventoryStore, deliver
from orchestrator.kube.client import KubeClient
from orchestrator.manifests import Manifest, load_manifests

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


# -- measuring -------------------------------------------------------------------------


@dataclass
class Row:
    """Every sample of one size; the figures are the best (smallest) of each."""

    size: int
    load: float = 0.0
    engine_cold: list[float] = field(default_factory=list)
    engine_noop: list[float] = field(default_factory=list)
    kubectl_cold: list[float] = field(default_factory=list)
    kubectl_noop: list[float] = field(default_factory=list)
    engine_cpu_cold: list[float] = field(default_factory=list)
    engine_cpu_noop: list[float] = field(default_factory=list)
    # per cold sample: the engine's step durations, and CPU seconds per process
    engine_steps: list[dict[str, float]] = field(default_factory=list)
    engine_cold_cpu: list[dict[str, float]] = field(default_factory=list)
    kubectl_cold_cpu: list[dict[str, float]] = field(default_factory=list)

    def best(self, samples: list[float]) -> float:
        return min(samples)

    @property
    def cold_ratio(self) -> float:
        return min(self.engine_cold) / min(self.kubectl_cold)

    @property
    def noop_ratio(self) -> float:
        return min(self.engine_noop) / min(self.kubectl_noop)


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
    kubectl_objs = objects(size, prefix=f"k{size}r{rep}")
    engine_dir = bench.work / f"engine-{size}-{rep}"
    kubectl_dir = bench.work / f"kubectl-{size}-{rep}"
    write_files(engine_objs, engine_dir)
    write_files(kubectl_objs, kubectl_dir)
    files = read_files(engine_dir)
    row.load, _, manifests = timed(lambda: load_manifests(files))
    log(f"{tag}: load_manifests {row.load:.2f}s")

    # Like the agent: the client (and its discovery) is built for the first reconcile,
    # inside the cold run's time, and kept for the next ones.
    clients: list[KubeClient] = []

    def engine(revision: str) -> ChangeSet:
        if not clients:
            clients.append(KubeClient.from_kubeconfig(bench.cluster.kubeconfig))
        return engine_run(
            clients[0],
            manifests,
            environment=f"bench-{size}-{rep}",
            revision=revision,
            concurrency=bench.concurrency,
        )

    took, used, changes = cpu_during(bench.cluster, lambda: engine("cold"))
    row.engine_cold.append(took)
    row.engine_cpu_cold.append(used["client: engine"])
    row.engine_cold_cpu.append(used)
    row.engine_steps.append({str(k): v for k, v in changes.durations.items()})
    log(f"{tag}: engine cold {took:.2f}s ({changes.summary()}; {changes.timings()})")
    settle(admin, namespaces_of(engine_objs))
    noops = [timed(functools.partial(engine, f"noop-{n}")) for n in range(3)]
    row.engine_noop.append(statistics.median(t for t, _, _ in noops))
    row.engine_cpu_noop.append(statistics.median(c for _, c, _ in noops))
    log(f"{tag}: engine no-op {row.engine_noop[-1]:.2f}s ({noops[-1][2].summary()})")
    clients[0].close()
    delete_namespaces(admin, namespaces_of(engine_objs))

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
    print("best of each (seconds):")
    print(
        f"{'objects':>7}  {'engine cold':>11}  {'kubectl cold':>12}  {'cold ratio':>10}  "
        f"{'engine no-op':>12}  {'kubectl no-op':>13}  {'no-op ratio':>11}  {'load':>6}"
    )
    for r in rows:
        print(
            f"{r.size:>7}  {min(r.engine_cold):>10.2f}s  {min(r.kubectl_cold):>11.2f}s  "
            f"{r.cold_ratio:>10.3f}  {min(r.engine_noop):>11.2f}s  "
            f"{min(r.kubectl_noop):>12.2f}s  {r.noop_ratio:>11.3f}  {r.load:>5.2f}s"
        )
    print()
    print("every sample, in run order (seconds):")
    for r in rows:
        print(f"  {r.size:>5} engine cold   {_samples(r.engine_cold)}")
        print(f"  {r.size:>5} kubectl cold  {_samples(r.kubectl_cold)}")
        print(f"  {r.size:>5} engine no-op  {_samples(r.engine_noop)}  (each a median of 3)")
        print(f"  {r.size:>5} kubectl no-op {_samples(r.kubectl_noop)}")
    print("engine CPU in this process (user+sys), cold / no-op:")
    for r in rows:
        print(f"  {r.size:>5}: {min(r.engine_cpu_cold):.2f}s / {min(r.engine_cpu_noop):.2f}s")
    print("where the best cold runs went (CPU seconds per process during the run):")
    for r in rows:
        for label, samples, cpus in (
            ("engine ", r.engine_cold, r.engine_cold_cpu),
            ("kubectl", r.kubectl_cold, r.kubectl_cold_cpu),
        ):
            best = samples.index(min(samples))
            used = {k: v for k, v in cpus[best].items() if v >= 0.05}
            if label == "kubectl":
                used.pop("client: engine", None)
            else:
                used.pop("client: kubectl", None)
            busy = sum(used.values()) / samples[best]
            parts = "  ".join(f"{k} {v:.1f}" for k, v in used.items())
            print(
                f"  {r.size:>5} {label} {samples[best]:6.2f}s  {parts}  "
                f"= {busy:.2f} of {os.cpu_count()} cores busy"
            )
        best = r.engine_cold.index(min(r.engine_cold))
        steps = ", ".join(f"{k} {v:.2f}s" for k, v in r.engine_steps[best].items())
        print(f"  {r.size:>5} engine steps: {steps}")
    print("ratios with load_manifests added to the engine's times:")
    for r in rows:
        cold = (min(r.engine_cold) + r.load) / min(r.kubectl_cold)
        noop = (min(r.engine_noop) + r.load) / min(r.kubectl_noop)
        print(f"  {r.size:>5}: cold {cold:.3f}  no-op {noop:.3f}")
    last = next((r for r in rows if r.size == 2000), rows[-1])
    print()
    print(f"cold_ratio={last.cold_ratio:.3f} noop_ratio={last.noop_ratio:.3f}")


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
