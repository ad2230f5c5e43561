#!/usr/bin/env bash
# Create three kind clusters (orchestrator-build, -staging, -production), a Git server,
# and install one agent per cluster from deploy/. See e2e/kind/README.md.
#
# Needs: docker (a running engine), kind (v0.20+), kubectl, ssh-keygen.
#
#   e2e/kind/up.sh               clusters, Git server, image, agents (for flow.sh)
#   e2e/kind/up.sh --no-agents   clusters, kubeconfigs and keys only, for running the
#                                agents with docker-compose.yml instead
#
# Writes into .kind/ (ignored by Git): <env>.kubeconfig for your kubectl,
# <env>.internal.kubeconfig for containers on the "kind" Docker network, and the
# throwaway SSH keys of the Git server and the agents under git/.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "${BASH_SOURCE[0]%/*}/lib.sh"

agents=1
case ${1:-} in
  "") ;;
  --no-agents) agents=0 ;;
  -h | --help)
    usage
    exit 0
    ;;
  *) die "unknown argument: $1 (try --help)" ;;
esac

require_tools docker kind kubectl ssh-keygen
require_docker_engine

mkdir -p "$STATE_DIR/git/server" "$STATE_DIR/git/agent"
printf '*\n' >"$STATE_DIR/.gitignore" # keys and kubeconfigs never reach a commit

# -- keys: the Git server's host key and the agents' key (throwaway, local only) --------
server_key=$STATE_DIR/git/server/ssh_host_ed25519_key
agent_key=$STATE_DIR/git/agent/id_ed25519
[[ -f $server_key ]] || ssh-keygen -q -t ed25519 -N '' -C orchestrator-git -f "$server_key"
[[ -f $agent_key ]] || ssh-keygen -q -t ed25519 -N '' -C orchestrator-agent -f "$agent_key"
cp "$agent_key.pub" "$STATE_DIR/git/server/authorized_keys"
# Containers run as other users than you: these development keys must be readable.
chmod 0644 "$agent_key" "$server_key"

# -- clusters ---------------------------------------------------------------------------
existing=$(kind get clusters 2>/dev/null || true)
for env in "${ENVIRONMENTS[@]}"; do
  name=$(cluster_name "$env")
  if grep -qx "$name" <<<"$existing"; then
    info "cluster $name exists"
  else
    info "creating cluster $name"
    kind create cluster --name "$name" --kubeconfig "$(kubeconfig_of "$env")" --wait 180s
  fi
  kind get kubeconfig --name "$name" >"$(kubeconfig_of "$env")"
  kind get kubeconfig --name "$name" --internal >"$STATE_DIR/$env.internal.kubeconfig"
  chmod 0600 "$(kubeconfig_of "$env")"
  chmod 0644 "$STATE_DIR/$env.internal.kubeconfig" # read by the compose agents (UID 65532)
done

if ((agents == 0)); then
  # The compose agents keep their Lease, inventory and publish ConfigMaps here.
  for env in "${ENVIRONMENTS[@]}"; do
    kube "$env" create namespace "$AGENT_NAMESPACE" --dry-run=client -o yaml | kube "$env" apply -f -
  done
  # The compose Git server is reached by its service name.
  printf 'git-server %s\n' "$(cut -d' ' -f1,2 "$server_key.pub")" >"$STATE_DIR/git/agent/known_hosts"
  info "clusters ready; now run: docker compose up --build"
  exit 0
fi

# -- images -------------------------------------------------------------------------------
version=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$REPO_ROOT/orchestrator/__init__.py")
info "building $AGENT_IMAGE (version $version)"
docker build --build-arg VERSION="$version" -t "$AGENT_IMAGE" "$REPO_ROOT"
docker build -t "$GIT_IMAGE" "$REPO_ROOT/e2e/compose/git-server"
for env in "${ENVIRONMENTS[@]}"; do
  kind load docker-image "$AGENT_IMAGE" --name "$(cluster_name "$env")"
done

# -- the Git server, on the kind network so that pods reach it ---------------------------
docker rm -f "$GIT_CONTAINER" >/dev/null 2>&1 || true
docker run -d --name "$GIT_CONTAINER" --network "$DOCKER_NETWORK" \
  -v "$STATE_DIR/git/server:/keys:ro" \
  -v "$REPO_ROOT/e2e/compose/seed:/seed:ro" \
  "$GIT_IMAGE" >/dev/null
git_ip=$(docker inspect -f "{{with index .NetworkSettings.Networks \"$DOCKER_NETWORK\"}}{{.IPAddress}}{{end}}" "$GIT_CONTAINER")
[[ -n $git_ip ]] || die "the Git server container has no address on the $DOCKER_NETWORK network"
wait_for 60 "the Git server's repository" docker exec "$GIT_CONTAINER" test -d "$GIT_REPO_PATH/refs"
# Pods reach the server by address; docker-compose.yml's agents by the name git-server.
printf '%s,git-server %s\n' "$git_ip" "$(cut -d' ' -f1,2 "$server_key.pub")" \
  >"$STATE_DIR/git/agent/known_hosts"
git_url="ssh://git@$git_ip$GIT_REPO_PATH"
info "Git server: $git_url"

# -- one agent per cluster, from deploy/overlays/<env> ----------------------------------
for env in "${ENVIRONMENTS[@]}"; do
  install_dir=$STATE_DIR/install/$env
  mkdir -p "$install_dir"
  # A local overlay on top of the shipped one: the dev image and this Git server.
  cat >"$install_dir/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../../deploy/overlays/$env
images:
  - name: orchestrator
    newName: orchestrator
    newTag: dev
configMapGenerator:
  - name: orchestrator-env
    behavior: merge
    literals:
      - ORCHESTRATOR_GIT__URL=$git_url
      - ORCHESTRATOR_GIT__POLL_INTERVAL_SECONDS=3
YAML
  info "installing the $env agent"
  kube "$env" apply -k "$install_dir"
  kube "$env" -n "$AGENT_NAMESPACE" create secret generic orchestrator-credentials \
    --from-file=ssh-privatekey="$agent_key" \
    --from-file=known_hosts="$STATE_DIR/git/agent/known_hosts" \
    --dry-run=client -o yaml | kube "$env" apply -f -
done
ready_replicas() {
  local ready
  ready=$(kube "$1" -n "$AGENT_NAMESPACE" get deployment/orchestrator \
    -o jsonpath='{.status.readyReplicas}')
  ((${ready:-0} >= 1))
}
for env in "${ENVIRONMENTS[@]}"; do
  info "waiting for the $env agent"
  if [[ $env == build ]]; then
    # The build leader's readiness needs a first contact with Git, which it makes when
    # it first publishes; until flow.sh gives it something, its standby is the ready one.
    wait_for 180 "a ready build agent" ready_replicas build
  else
    kube "$env" -n "$AGENT_NAMESPACE" rollout status deployment/orchestrator --timeout=180s
  fi
done
info "ready: run e2e/kind/flow.sh, then e2e/kind/down.sh"
