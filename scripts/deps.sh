#!/usr/bin/env bash
# Installs the Debian 12 packages driftd needs, only those that are missing.
# Sourced by scripts/demo and scripts/test; safe to run again.
set -euo pipefail

DRIFTD_DEBS=(
  build-essential cmake pkg-config ninja-build git clang-format
  libhwy-dev libsimdjson-dev libcli11-dev libspdlog-dev libfmt-dev catch2
  libtomlplusplus-dev libboost-dev libxxhash-dev libeigen3-dev
  librdkafka-dev prometheus-cpp-dev libssl-dev openssl kcat curl prometheus
  python3 python3-numpy python3-scipy python3-pandas python3-sklearn
)

driftd_install_deps() {
  local missing=()
  local pkg
  for pkg in "${DRIFTD_DEBS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi
  echo "driftd: installing Debian packages: ${missing[*]}" >&2
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
}
