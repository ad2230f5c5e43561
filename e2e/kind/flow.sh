#!/usr/bin/env bash
# Run the PR-based flow across the clusters that up.sh installed, and check that it
# ends as the agent's integration test does:
#
#   1. the build agent publishes feature-a (a ConfigMap labelled for publishing in its
#      cluster) as the candidate branch pr/staging/feature-a;
#   2. a maintainer merges it into staging;
#   3. the staging agent applies it, records Healthy, and pushes pr/production/feature-a
#      (its note then says Promoted);
#   4. a maintainer merges that into production;
#   5. the production agent applies it and records Healthy;
#   6. the delivered Deployment runs in both clusters.
#
# Needs: docker, kubectl, and a finished e2e/kind/up.sh. Maintainer steps run with git
# inside the Git server container, so git is not needed on your machine.
# FEATURE (default feature-a) and FLOW_TIMEOUT (seconds per wait, default 300) can be set.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "${BASH_SOURCE[0]%/*}/lib.sh"

case ${1:-} in
  "") ;;
  -h | --help)
    usage
    exit 0
    ;;
  *) die "unknown argument: $1 (try --help)" ;;
esac

require_tools docker kubectl
require_docker_engine
[[ -f $(kubeconfig_of staging) ]] || die "no clusters in $STATE_DIR: run e2e/kind/up.sh first"
docker inspect "$GIT_CONTAINER" >/dev/null 2>&1 ||
  die "no Git server container $GIT_CONTAINER: run e2e/kind/up.sh (without --no-agents) first"

FEATURE=${FEATURE:-feature-a}
TIMEOUT=${FLOW_TIMEOUT:-300}

# git on the server's bare repository: what every clone sees.
repo_git() { docker exec -u git "$GIT_CONTAINER" git -C "$GIT_REPO_PATH" "$@"; }
branch_exists() { repo_git rev-parse --verify --quiet "refs/heads/$1"; }

# merge SOURCE INTO: what merging a pull request does (a merge commit); prints its id.
merge() {
  docker exec -i -u git "$GIT_CONTAINER" sh -eu -s "$GIT_REPO_PATH" "$1" "$2" <<'SH'
repo=$1 source=$2 into=$3
work=$(mktemp -d)
git clone --quiet --branch "$into" "$repo" "$work"
cd "$work"
git -c user.name=Maintainer -c user.email=maintainer@example.com \
  merge --quiet --no-ff -m "Merge $source into $into" "origin/$source"
git push --quiet origin "HEAD:refs/heads/$into"
git rev-parse HEAD
cd /
rm -rf "$work"
SH
}

# note ENV SHA: the note ENV's agent wrote on SHA (nothing yet: empty).
note() { repo_git notes --ref="refs/notes/orchestrator/$1" show "$2" 2>/dev/null || true; }

# await_phase ENV SHA PHASE: until ENV's note on SHA records PHASE; a Failed entry stops.
await_phase() {
  local env=$1 sha=$2 phase=$3 text
  local deadline=$((SECONDS + TIMEOUT))
  info "waiting for the $env agent to record $phase on ${sha:0:12}"
  while :; do
    text=$(note "$env" "$sha")
    grep -q "\"phase\": \"$phase\"" <<<"$text" && return 0
    if grep -q '"phase": "Failed"' <<<"$text"; then
      printf '%s\n' "$text" >&2
      die "the $env agent recorded Failed on ${sha:0:12} (its note is above)"
    fi
    if ((SECONDS >= deadline)); then
      printf '%s\n' "${text:-(no note yet)}" >&2
      die "timed out after ${TIMEOUT}s: no $phase from the $env agent on ${sha:0:12}; see: kubectl --kubeconfig $(kubeconfig_of "$env") -n $AGENT_NAMESPACE logs deployment/orchestrator"
    fi
    sleep 3
  done
}

# -- 1. the supply chain's output in the build cluster -------------------------------------
info "publishing $FEATURE from the build cluster"
kube build -n "$AGENT_NAMESPACE" apply -f - <<YAML
apiVersion: v1
kind: ConfigMap
metadata:
  name: $FEATURE
  labels:
    orchestrator.dev/publish: "true"
    orchestrator.dev/feature: $FEATURE
data:
  app.yaml: |
    apiVersion: v1
    kind: Namespace
    metadata:
      name: demo
    ---
    apiVersion: v1
    kind: ConfigMap
    metadata:
      name: hello
      namespace: demo
    data:
      feature: $FEATURE
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: hello
      namespace: demo
    spec:
      replicas: 1
      selector:
        matchLabels: {app: hello}
      template:
        metadata:
          labels: {app: hello}
        spec:
          containers:
            - name: hello
              # The sandbox image every kind node already holds: nothing to pull.
              image: registry.k8s.io/pause:3.10
YAML
wait_for "$TIMEOUT" "the build agent to push pr/staging/$FEATURE" branch_exists "pr/staging/$FEATURE"

# -- 2./3. staging --------------------------------------------------------------------------
staging_sha=$(merge "pr/staging/$FEATURE" staging)
info "merged pr/staging/$FEATURE into staging at ${staging_sha:0:12}"
await_phase staging "$staging_sha" Healthy
wait_for "$TIMEOUT" "the staging agent to push pr/production/$FEATURE" \
  branch_exists "pr/production/$FEATURE"
await_phase staging "$staging_sha" Promoted

# -- 4./5. production -----------------------------------------------------------------------
production_sha=$(merge "pr/production/$FEATURE" production)
info "merged pr/production/$FEATURE into production at ${production_sha:0:12}"
await_phase production "$production_sha" Healthy

# -- 6. what runs -----------------------------------------------------------------------------
for env in staging production; do
  kube "$env" -n demo rollout status deployment/hello --timeout=60s
done
info "promotion commit on production:"
repo_git log -1 --format='%h %s%n%(trailers)' "refs/heads/pr/production/$FEATURE" >&2
info "PASS: $FEATURE went build -> staging (Healthy, Promoted) -> production (Healthy)"
