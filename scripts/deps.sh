#!/usr/bin/env bash
# Installs the Debian 12 packages driftd needs, only those that are missing.
# Sourced by scripts/demo and scripts/test; safe to run again.
set -euo pipefail

DRIFTD_DEBS=(
  build-essential cmake pkg-config ninja-build git clang-format
  libhwy-dev libsimdjson-dev libcli11-dev libspdlog-dev libfmt-dev catch2
  libtomlplusplus-dev libboost-dev libxxhash-dev libeigen3-dev
  librdkafka-dev prometheus-cpp-dev libssl-dev openssl kcat curl prometheus
  libcurl4-openssl-dev libsqlite3-dev prometheus-alertmanager
  python3 python3-numpy python3-scipy python3-pandas python3-sklearn python3-yaml python3-pil systemd chromium
)

# Runs a step quietly: one line saying what it does, its output in a log
# file that is named (with its last lines) when the step fails.
#   driftd_step "building driftd" cmake --build build/demo
driftd_step() {
  local what=$1
  shift
  local logs=${DRIFTD_LOG_DIR:-${TMPDIR:-/tmp}/driftd-logs}
  mkdir -p "$logs"
  local log
  log=$(printf '%s' "$what" | cut -d' ' -f1-3 | tr -cs 'a-zA-Z0-9' '-')
  log=$logs/${log%-}.log
  local start=$SECONDS
  printf 'driftd: %s ... ' "$what" >&2
  if "$@" >"$log" 2>&1; then
    echo "ok ($((SECONDS - start)) s)" >&2
  else
    local rc=$?
    echo "FAILED (exit $rc); the last lines of $log:" >&2
    tail -n 30 "$log" >&2
    return $rc
  fi
}

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
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  driftd_step "updating the Debian package lists" $sudo apt-get update
  driftd_step "installing ${#missing[@]} Debian packages (${missing[*]})" \
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
}
