#!/usr/bin/env bash
# Makes this machine able to build and run the image with podman (as root, from Debian's packages),
# and makes the base image from Debian's packages with debootstrap, since no registry is reachable:
#   localhost/debian:bookworm-minbase, and gitlab-ci-local's helper image on it
# Idempotent. Podman needs runc (crun fails on hybrid cgroups here), cgroupfs, the host network
# (so builds reach the package mirror and containers reach a fake API on 127.0.0.1) and a
# nofile limit under this VM's hard limit.
set -euo pipefail
log() { printf 'container-setup: %s\n' "$*" >&2; }
BASE=${TRUSS_CI_IMAGE_BASE:-localhost/debian:bookworm-minbase}

missing=()
for pkg in podman runc debootstrap; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    log "cannot install ${missing[*]} (need root and apt-get)"
    exit 1
  fi
  log "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

conf=/etc/containers/containers.conf
if [ "$(id -u)" -eq 0 ] && ! grep -q 'truss-ci' "$conf" 2>/dev/null; then
  log "writing $conf"
  mkdir -p /etc/containers
  cat > "$conf" <<'CONF'
# written by truss-ci's scripts/container-setup.sh
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]
netns = "host"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
fi

if ! podman image exists "$BASE"; then
  rootfs=$(mktemp -d)
  log "debootstrap bookworm into $rootfs (about a minute)"
  debootstrap --variant=minbase bookworm "$rootfs" >&2
  tar -C "$rootfs" -c . | podman import - "$BASE" >&2
  rm -rf "$rootfs"
fi
# gitlab-ci-local's docker executor copies artifacts out with a helper image that has bash and
# rsync (its default helper comes from a registry that cannot be reached).
HELPER=${TRUSS_CI_GCL_HELPER:-localhost/truss-ci-gcl-helper:bookworm}
if ! podman image exists "$HELPER"; then
  log "building $HELPER"
  printf 'FROM %s\nRUN apt-get update && apt-get install -y --no-install-recommends rsync && rm -rf /var/lib/apt/lists/*\n' "$BASE" \
    | podman build --quiet --tag "$HELPER" - >&2
fi
log "base image $BASE and helper $HELPER are ready"
