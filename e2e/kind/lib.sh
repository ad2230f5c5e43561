# shellcheck shell=bash disable=SC2034  # the variables are used by the scripts that source it
# Shared by up.sh, flow.sh and down.sh: paths, messages, prerequisite checks.
# Sourced, never run. Only bash builtins run before the prerequisite check, so a
# missing tool is always reported by name rather than by a confusing failure.

KIND_E2E_DIR=${BASH_SOURCE[0]%/*}
[[ $KIND_E2E_DIR == "${BASH_SOURCE[0]}" ]] && KIND_E2E_DIR=.
REPO_ROOT=$(cd "$KIND_E2E_DIR/../.." && pwd)
STATE_DIR=$REPO_ROOT/.kind
ENVIRONMENTS=(build staging production)
CLUSTER_PREFIX=orchestrator-
AGENT_NAMESPACE=orchestrator-system
AGENT_IMAGE=orchestrator:dev
GIT_IMAGE=orchestrator-git-server:dev
GIT_CONTAINER=orchestrator-git
GIT_REPO_PATH=/srv/git/orchestrator.git
DOCKER_NETWORK=kind

# usage: the leading comment block of the running script (bash builtins only).
usage() {
  local line
  while IFS= read -r line; do
    [[ $line == '#!'* ]] && continue
    [[ $line == '#'* ]] || break
    line=${line#\#}
    printf '%s\n' "${line# }"
  done <"$0"
}

info() { printf '==> %s\n' "$*" >&2; }
die() {
  printf 'e2e/kind: error: %s\n' "$*" >&2
  exit 1
}

# How to get each tool, for the message when it is missing.
tool_hint() {
  case $1 in
    docker) echo "Docker Engine (or Docker Desktop): https://docs.docker.com/engine/install/" ;;
    kind) echo "kind v0.20 or later: https://kind.sigs.k8s.io/docs/user/quick-start/#installation" ;;
    kubectl) echo "kubectl: https://kubernetes.io/docs/tasks/tools/" ;;
    ssh-keygen) echo "OpenSSH client (Debian/Ubuntu: apt-get install openssh-client)" ;;
    *) echo "$1" ;;
  esac
}

# require_tools TOOL... : exit with one line per missing tool, naming it and where to get it.
require_tools() {
  local tool missing=()
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  if ((${#missing[@]})); then
    for tool in "${missing[@]}"; do
      printf 'e2e/kind: error: required tool not found on PATH: %s (install %s)\n' \
        "$tool" "$(tool_hint "$tool")" >&2
    done
    exit 1
  fi
}

# The Docker CLI alone is not enough: the engine must answer.
require_docker_engine() {
  docker info >/dev/null 2>&1 ||
    die "docker is installed but its engine does not answer ('docker info' failed): start Docker, or check DOCKER_HOST and your permissions on the Docker socket"
}

cluster_name() { printf '%s%s' "$CLUSTER_PREFIX" "$1"; }
kubeconfig_of() { printf '%s/%s.kubeconfig' "$STATE_DIR" "$1"; }
kube() {
  local env=$1
  shift
  kubectl --kubeconfig "$(kubeconfig_of "$env")" "$@"
}

# wait_for SECONDS WHAT COMMAND... : retry COMMAND every 2 s until it succeeds.
wait_for() {
  local timeout=$1 what=$2
  shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "timed out after ${timeout}s waiting for: $what"
    sleep 2
  done
}
