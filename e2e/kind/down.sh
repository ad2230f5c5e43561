#!/usr/bin/env bash
# Remove what e2e/kind/up.sh created: the three kind clusters, the Git server container
# and .kind/ (kubeconfigs and throwaway keys). Stop docker compose first if you used it
# (docker compose down).
#
# Needs: docker, kind.
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

require_tools docker kind
require_docker_engine

existing=$(kind get clusters 2>/dev/null || true)
for env in "${ENVIRONMENTS[@]}"; do
  name=$(cluster_name "$env")
  if grep -qx "$name" <<<"$existing"; then
    info "deleting cluster $name"
    kind delete cluster --name "$name"
  fi
done
if docker inspect "$GIT_CONTAINER" >/dev/null 2>&1; then
  info "removing the Git server container"
  docker rm -f "$GIT_CONTAINER" >/dev/null
fi
rm -rf "$STATE_DIR"
info "done"
