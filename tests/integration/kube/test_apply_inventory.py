"""The inventory Secret(s): round trip, sharding, and no write when nothing changed."""

from __future__ import annotations

from typing import Any

from orchestrator.kube import InventoryStore
from orchestrator.kube.inventory import LABEL, SECRET_TYPE

from .conftest import Env, load


def shard_secrets(env: Env, store: InventoryStore) -> list[dict[str, Any]]:
    return env.client.list(
        api_version="v1",
        kind="Secret",
        namespace=env.namespace,
        label_selector=f"{LABEL}={store.name}",
    )


def test_a_large_inventory_is_sharded_and_reads_back_whole(env: Env) -> None:
    store = InventoryStore(
        env.client, namespace=env.namespace, name=env.store.name, max_shard_bytes=700
    )
    env.store = store
    manifests = load("basic", namespace=env.namespace) + load("keep", namespace=env.namespace)

    env.deliver(manifests, revision="big")

    secrets = shard_secrets(env, store)
    assert len(secrets) >= 3
    assert all(s["type"] == SECRET_TYPE for s in secrets)
    fresh = InventoryStore(env.client, namespace=env.namespace, name=store.name)
    inventory = fresh.read()
    assert inventory.revision == "big"
    assert inventory.refs() == {m.ref for m in manifests}

    # Fewer objects: fewer shards, and the shards of the old write are gone.
    env.deliver(load("keep", namespace=env.namespace), revision="small")
    assert len(shard_secrets(env, store)) == 1
    assert fresh.read().revision == "small"


def test_an_unchanged_inventory_is_not_written_again(env: Env) -> None:
    manifests = load("keep", namespace=env.namespace)
    env.deliver(manifests, revision="same")
    head = env.client.get(
        api_version="v1", kind="Secret", name=env.store.name, namespace=env.namespace
    )
    assert head is not None

    env.deliver(manifests, revision="same")

    again = env.client.get(
        api_version="v1", kind="Secret", name=env.store.name, namespace=env.namespace
    )
    assert again is not None
    assert again["metadata"]["resourceVersion"] == head["metadata"]["resourceVersion"]
