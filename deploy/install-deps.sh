#!/usr/bin/env bash
# Installs what building and testing Sluice needs on Debian 12, from Debian's packages.
# Idempotent: packages already present are skipped quickly. Run as root (or with sudo).
set -euo pipefail

pkgs=(
    build-essential cmake pkg-config git ca-certificates
    libjemalloc-dev libpcre2-dev libmicrohttpd-dev libssl-dev
    librdkafka-dev libmosquitto-dev libhiredis-dev libcurl4-openssl-dev
    mosquitto mosquitto-clients openssl
    libcmocka-dev libjansson-dev
    clang libclang-rt-14-dev
    libsimdjson-dev g++
    libdragonbox-dev
    python3 valgrind
    redis-server redis-tools
    kcat
    python3-botocore
    podman runc debootstrap   # the container test (../shared/CONTAINERS.md)
    python3-kubernetes python3-yaml   # deploy/k8s_fields: field names of the manifests
)
# The Lambda sink's tests run serverless-offline (npm, from tests/tools/lambda's lock file) on
# the machine's Node.js; Debian's nodejs/npm only when none is installed.
command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm packages of the deploy checks (tests/tools/deploycheck: schema validators, a Prometheus
# text-format parser, a PromQL parser), from the lock file; skipped when they are current.
here="$(cd "$(dirname "$0")/.." && pwd)"
dc="$here/tests/tools/deploycheck"
if command -v npm >/dev/null && [ -f "$dc/package-lock.json" ] &&
   ! cmp -s "$dc/package-lock.json" "$dc/node_modules/.sluice-lock"; then
    if ! (cd "$dc" && npm ci --no-audit --no-fund --loglevel=error >/dev/null &&
          cp package-lock.json node_modules/.sluice-lock); then
        echo "install-deps: npm ci in tests/tools/deploycheck failed; the deploy checks that" \
             "need it will say 'skipped'" >&2
    fi
fi
