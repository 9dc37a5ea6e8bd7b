#!/usr/bin/env bash
# Makes a local stand-in for debian:bookworm-slim in podman's image store, for machines that
# cannot pull from a registry (../shared/CONTAINERS.md). Does nothing when the image is there.
# The Dockerfile keeps its ordinary FROM line; with registry access the real image is used.
#
#   deploy/local-base-image.sh            (as root; debootstrap takes about a minute)
set -euo pipefail
image=docker.io/library/debian:bookworm-slim
P=(podman --runtime /usr/sbin/runc --cgroup-manager=cgroupfs)
if "${P[@]}" image exists "$image"; then
    exit 0
fi
root=$(mktemp -d /var/tmp/sluice-base.XXXXXX)
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase bookworm "$root" >"$root.log" 2>&1 || {
    tail -20 "$root.log" >&2
    exit 1
}
rm -f "$root.log"
# What the real slim image leaves out: apt lists, docs and man pages.
rm -rf "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/* \
       "$root"/var/cache/apt/*.bin
tar -C "$root" -c . | "${P[@]}" import - "$image" >/dev/null
