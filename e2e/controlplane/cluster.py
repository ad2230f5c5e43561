"""Start and stop named, isolated Kubernetes control planes on 127.0.0.1.

Each cluster has its own etcd, kube-apiserver (TLS, client-certificate admin,
RBAC), kube-controller-manager, kube-scheduler and kwok, which simulates one
node and the pods bound to it, so Deployments really become Available and Jobs
really complete. Clusters share nothing but the binaries.

Components start stage by stage across all clusters (every etcd, then every
apiserver, ...) so that N clusters take about as long as one to come up.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import socket
import time
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from e2e.controlplane.binaries import Binaries
from e2e.controlplane.http import ApiClient
from e2e.controlplane.pki import ClusterPKI, create_pki
from e2e.controlplane.process import ManagedProcess, stop_pid

ADMIN_USER = "orchestrator-admin"
NODE_NAME = "kwok-node-0"
STATE_FILE = "controlplane.json"
KWOK_STAGES = Path(__file__).with_name("kwok-stages.yaml")
_START_ATTEMPTS = 3


class ControlPlaneError(RuntimeError):
    """A component did not come up; the message carries the tail of its log."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Cluster:
    """One running control plane, as tests and people see it."""

    name: str
    directory: Path
    pki: ClusterPKI
    etcd_port: int = 0
    etcd_peer_port: int = 0
    apiserver_port: int = 0
    processes: dict[str, ManagedProcess] = field(default_factory=dict)

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.apiserver_port}"

    @property
    def kubeconfig(self) -> Path:
        return self.directory.parent / f"{self.name}.kubeconfig"

    def admin(self) -> ApiClient:
        return ApiClient(
            port=self.apiserver_port,
            ca_cert=self.pki.ca_cert,
            client_cert=self.pki.admin_cert,
            client_key=self.pki.admin_key,
        )

    def anonymous(self) -> ApiClient:
        return ApiClient(port=self.apiserver_port, ca_cert=self.pki.ca_cert)

    def write_kubeconfig(self) -> None:
        def b64(path: Path) -> str:
            return base64.b64encode(path.read_bytes()).decode()

        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": self.name,
                    "cluster": {
                        "server": self.server,
                        "certificate-authority-data": b64(self.pki.ca_cert),
                    },
                }
            ],
            "users": [
                {
                    "name": f"{self.name}-admin",
                    "user": {
                        "client-certificate-data": b64(self.pki.admin_cert),
                        "client-key-data": b64(self.pki.admin_key),
                    },
                }
            ],
            "contexts": [
                {"name": self.name, "context": {"cluster": self.name, "user": f"{self.name}-admin"}}
            ],
            "current-context": self.name,
        }
        # JSON is valid YAML, and every kubeconfig reader accepts it.
        self.kubeconfig.write_text(json.dumps(config, indent=2) + "\n")
        self.kubeconfig.chmod(0o600)


def _wait(
    what: str, check: Callable[[], bool], *, process: ManagedProcess | None, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    last_error = ""
    while time.monotonic() < deadline:
        if process is not None and process.exited() is not None:
            raise ControlPlaneError(
                f"{what}: {process.name} exited with code {process.exited()}; "
                f"log {process.log_path}:\n{process.log_tail()}"
            )
        try:
            if check():
                return
        except OSError as exc:
            last_error = str(exc)
        time.sleep(0.2)
    tail = process.log_tail() if process is not None else ""
    raise ControlPlaneError(f"{what}: not ready after {timeout:.0f}s {last_error}\n{tail}")


def _port_clash(process: ManagedProcess) -> bool:
    return "address already in use" in process.log_tail(200)


class ControlPlane:
    """A set of named clusters under one directory; a context manager that always stops them."""

    def __init__(self, *, directory: Path, binaries: Binaries, detached: bool = False) -> None:
        self.directory = directory
        self.binaries = binaries
        self.detached = detached
        self.clusters: dict[str, Cluster] = {}

    # -- lifecycle ------------------------------------------------------------

    def start(self, names: Sequence[str]) -> dict[str, Cluster]:
        """Start clusters not yet running; returns all requested clusters."""
        new = []
        for name in names:
            if name in self.clusters:
                continue
            cdir = self.directory / name
            if cdir.exists():
                shutil.rmtree(cdir)
            pki = create_pki(cdir / "pki", cluster=name, admin_user=ADMIN_USER)
            cluster = Cluster(name=name, directory=cdir, pki=pki)
            self.clusters[name] = cluster
            new.append(cluster)
        try:
            self._bring_up(new)
        except BaseException:
            self.stop()
            raise
        self._write_state()
        return {name: self.clusters[name] for name in names}

    def stop(self) -> None:
        """Stop every process, most dependent first; safe to call twice."""
        order = ("kwok", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd")
        for component in order:
            for cluster in self.clusters.values():
                proc = cluster.processes.pop(component, None)
                if proc is not None:
                    proc.stop()
        self.clusters.clear()
        with contextlib.suppress(FileNotFoundError):
            (self.directory / STATE_FILE).unlink()

    def __enter__(self) -> ControlPlane:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- stages ---------------------------------------------------------------

    def _bring_up(self, clusters: list[Cluster]) -> None:
        self._stage(clusters, self._start_etcd, self._await_etcd, "etcd")
        self._stage(clusters, self._start_apiserver, self._await_apiserver, "kube-apiserver")
        for cluster in clusters:
            cluster.write_kubeconfig()
            self._seed(cluster)
            self._start_controllers(cluster)
        for cluster in clusters:
            self._await_workloads_possible(cluster)

    def _stage(
        self,
        clusters: Iterable[Cluster],
        start: Callable[[Cluster], None],
        wait: Callable[[Cluster], None],
        component: str,
    ) -> None:
        """Start one component everywhere, then wait; retry on a port taken meanwhile."""
        pending = list(clusters)
        for attempt in range(_START_ATTEMPTS):
            for cluster in pending:
                start(cluster)
            failed = []
            for cluster in pending:
                try:
                    wait(cluster)
                except ControlPlaneError:
                    proc = cluster.processes.pop(component)
                    proc.stop()
                    if attempt + 1 < _START_ATTEMPTS and _port_clash(proc):
                        failed.append(cluster)
                        continue
                    raise
            if not failed:
                return
            pending = failed

    def _spawn(self, cluster: Cluster, component: str, argv: list[str]) -> None:
        env = dict(os.environ)
        # Go's default heap growth is tuned for big hosts; several clusters share 2 cores here.
        env.setdefault("GOGC", "50")
        cluster.processes[component] = ManagedProcess(
            name=f"{cluster.name}/{component}",
            argv=argv,
            log_path=cluster.directory / "logs" / f"{component}.log",
            detached=self.detached,
            env=env,
        )

    def _start_etcd(self, cluster: Cluster) -> None:
        cluster.etcd_port, cluster.etcd_peer_port = free_port(), free_port()
        client = f"http://127.0.0.1:{cluster.etcd_port}"
        peer = f"http://127.0.0.1:{cluster.etcd_peer_port}"
        data = cluster.directory / "etcd"
        shutil.rmtree(data, ignore_errors=True)
        self._spawn(
            cluster,
            "etcd",
            [
                str(self.binaries.etcd),
                f"--name={cluster.name}",
                f"--data-dir={data}",
                f"--listen-client-urls={client}",
                f"--advertise-client-urls={client}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster={cluster.name}={peer}",
                "--listen-metrics-urls=",
                "--unsafe-no-fsync=true",
                "--quota-backend-bytes=4294967296",
                "--auto-compaction-retention=1",
                "--log-level=warn",
            ],
        )

    def _await_etcd(self, cluster: Cluster) -> None:
        url = f"http://127.0.0.1:{cluster.etcd_port}/health"

        def healthy() -> bool:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return bool(json.load(resp).get("health") == "true")

        _wait(f"{cluster.name} etcd", healthy, process=cluster.processes["etcd"], timeout=30)

    def _start_apiserver(self, cluster: Cluster) -> None:
        cluster.apiserver_port = free_port()
        pki = cluster.pki
        self._spawn(
            cluster,
            "kube-apiserver",
            [
                str(self.binaries.kube_apiserver),
                f"--etcd-servers=http://127.0.0.1:{cluster.etcd_port}",
                "--bind-address=127.0.0.1",
                f"--secure-port={cluster.apiserver_port}",
                # Loopback as advertise address is only accepted without an endpoint
                # reconciler; nothing here needs the `kubernetes` Service endpoints.
                "--advertise-address=127.0.0.1",
                "--endpoint-reconciler-type=none",
                f"--tls-cert-file={pki.serving_cert}",
                f"--tls-private-key-file={pki.serving_key}",
                f"--client-ca-file={pki.ca_cert}",
                "--authorization-mode=RBAC",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={pki.sa_pub}",
                f"--service-account-signing-key-file={pki.sa_key}",
                "--service-cluster-ip-range=10.96.0.0/16",
                "--allow-privileged=true",
                "--profiling=false",
                f"--cert-dir={cluster.directory / 'apiserver-certs'}",
                "--v=1",
            ],
        )

    def _await_apiserver(self, cluster: Cluster) -> None:
        admin = cluster.admin()

        def ready() -> bool:
            return admin.request("GET", "/readyz").ok

        proc = cluster.processes["kube-apiserver"]
        _wait(f"{cluster.name} kube-apiserver", ready, process=proc, timeout=90)

    def _seed(self, cluster: Cluster) -> None:
        """Register the simulated node kwok will keep alive."""
        node = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": NODE_NAME,
                "annotations": {"kwok.x-k8s.io/node": "fake"},
                "labels": {
                    "kubernetes.io/hostname": NODE_NAME,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "type": "kwok",
                },
            },
            "status": {
                "allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110"},
                "capacity": {"cpu": "32", "memory": "256Gi", "pods": "110"},
            },
        }
        resp = cluster.admin().request("POST", "/api/v1/nodes", node)
        if not resp.ok and resp.status != 409:
            raise ControlPlaneError(
                f"{cluster.name}: cannot create node: {resp.status} {resp.body}"
            )

    def _start_controllers(self, cluster: Cluster) -> None:
        kubeconfig = str(cluster.kubeconfig)
        self._spawn(
            cluster,
            "kube-controller-manager",
            [
                str(self.binaries.kube_controller_manager),
                f"--kubeconfig={kubeconfig}",
                "--bind-address=127.0.0.1",
                "--secure-port=0",
                "--leader-elect=false",
                f"--root-ca-file={cluster.pki.ca_cert}",
                f"--service-account-private-key-file={cluster.pki.sa_key}",
                "--use-service-account-credentials=false",
                "--kube-api-qps=100",
                "--kube-api-burst=200",
                "--profiling=false",
                "--v=1",
            ],
        )
        self._spawn(
            cluster,
            "kube-scheduler",
            [
                str(self.binaries.kube_scheduler),
                f"--kubeconfig={kubeconfig}",
                "--bind-address=127.0.0.1",
                "--secure-port=0",
                "--leader-elect=false",
                "--profiling=false",
                "--v=1",
            ],
        )
        self._spawn(
            cluster,
            "kwok",
            [
                str(self.binaries.kwok),
                f"--kubeconfig={kubeconfig}",
                "--manage-all-nodes=false",
                "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
                # Without a lease kwok falls back to a 10-minute heartbeat and the
                # node controller would mark the node Unknown after 50s.
                "--node-lease-duration-seconds=40",
                # The normal node and pod lifecycle, plus pods that fail or never
                # become ready on request (see the file for the annotation).
                f"--config={KWOK_STAGES}",
                "--cidr=10.0.0.1/24",
                "--node-ip=10.0.0.1",
                "--v=1",
            ],
        )

    def _await_workloads_possible(self, cluster: Cluster) -> None:
        """Ready node (kwok) and a default ServiceAccount (controller manager)."""
        admin = cluster.admin()

        def node_ready() -> bool:
            resp = admin.request("GET", f"/api/v1/nodes/{NODE_NAME}")
            conditions: list[dict[str, Any]] = (
                (resp.body or {}).get("status", {}).get("conditions", [])
            )
            return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)

        def default_sa() -> bool:
            return admin.request("GET", "/api/v1/namespaces/default/serviceaccounts/default").ok

        procs = cluster.processes
        _wait(f"{cluster.name} kwok node", node_ready, process=procs["kwok"], timeout=60)
        _wait(
            f"{cluster.name} controller manager",
            default_sa,
            process=procs["kube-controller-manager"],
            timeout=60,
        )
        for component in ("kube-scheduler", "kube-controller-manager", "kwok"):
            proc = procs[component]
            if proc.exited() is not None:
                raise ControlPlaneError(f"{cluster.name}: {component} exited:\n{proc.log_tail()}")

    # -- detached mode --------------------------------------------------------

    def _write_state(self) -> None:
        state = {
            name: {
                "server": c.server,
                "kubeconfig": str(c.kubeconfig),
                "pids": {comp: p.pid for comp, p in c.processes.items()},
            }
            for name, c in self.clusters.items()
        }
        (self.directory / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n")


def stop_detached(directory: Path) -> list[str]:
    """Stop a control plane that `up --detach` left running; returns the cluster names."""
    state_path = directory / STATE_FILE
    if not state_path.exists():
        return []
    state: dict[str, Any] = json.loads(state_path.read_text())
    order = ("kwok", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd")
    for component in order:
        for info in state.values():
            pid = info["pids"].get(component)
            if pid:
                stop_pid(int(pid))
    state_path.unlink()
    return sorted(state)
