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
    python3 valgrind
    redis-server redis-tools
    kcat
)

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
