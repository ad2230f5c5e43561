#!/usr/bin/env bash
# Entry point of the development Git server (see the Dockerfile beside this file).
#
# From $KEYS_DIR (default /keys, mounted read-only):
#   ssh_host_ed25519_key  the server's host key (clients pin its public half in known_hosts)
#   authorized_keys       the public keys that may fetch and push as user git
# On first start it creates the bare repository /srv/git/$REPO_NAME.git (default
# orchestrator) and, when $SEED_DIR/policy.yaml exists (default /seed), commits it as
# .orchestrator/policy.yaml to each branch in $SEED_BRANCHES (default: staging production).
set -euo pipefail

keys=${KEYS_DIR:-/keys}
seed=${SEED_DIR:-/seed}
repo=/srv/git/${REPO_NAME:-orchestrator}.git
read -r -a branches <<<"${SEED_BRANCHES:-staging production}"

die() {
  echo "git-server: error: $*" >&2
  exit 1
}

for file in ssh_host_ed25519_key authorized_keys; do
  [[ -f $keys/$file ]] || die "missing $keys/$file (e2e/kind/up.sh writes it to .kind/git/server/)"
done
install -m 0600 "$keys/ssh_host_ed25519_key" /etc/ssh/ssh_host_ed25519_key
install -d -m 0700 -o git -g git /home/git/.ssh
install -m 0600 -o git -g git "$keys/authorized_keys" /home/git/.ssh/authorized_keys

if [[ ! -d $repo ]]; then
  git init --quiet --bare --initial-branch=main "$repo"
  if [[ -f $seed/policy.yaml ]]; then
    work=$(mktemp -d)
    git -C "$work" init --quiet --initial-branch=seed
    mkdir -p "$work/.orchestrator" "$work/manifests"
    cp "$seed/policy.yaml" "$work/.orchestrator/policy.yaml"
    printf '# Delivered configuration\n\nThe build agent publishes here.\n' >"$work/manifests/README.md"
    git -C "$work" add --all
    git -C "$work" -c user.name=seed -c user.email=seed@localhost \
      commit --quiet -m "Seed the delivery repository"
    for branch in "${branches[@]}"; do
      git -C "$work" push --quiet "$repo" "HEAD:refs/heads/$branch"
    done
    rm -rf "$work"
  fi
  chown -R git:git "$repo"
  echo "git-server: created $repo (seeded branches: ${branches[*]})" >&2
fi
exec /usr/sbin/sshd -D -e
