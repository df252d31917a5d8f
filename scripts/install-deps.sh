#!/usr/bin/env bash
# Installs every system package OpenCourt needs to build, run and test, with apt-get (as root).
# Idempotent: packages already present are skipped without touching the network.
set -euo pipefail

packages=(
  build-essential pkg-config ca-certificates
  # the control plane's tests run against a real PostgreSQL server
  postgresql
  # Python clients in the tests (grpcio) live in a virtualenv
  python3 python3-venv python3-pip
)
# each crate lists the packages it adds in scripts/packages.d/<crate>.txt (one a line, # comments)
for list in scripts/packages.d/*.txt; do
  [[ -e "$list" ]] || continue
  while read -r p; do p=${p%%#*}; p=${p//[[:space:]]/}; [[ -n "$p" ]] && packages+=("$p"); done < "$list"
done

# npm: a machine may carry its own (newer) npm beside Debian's nodejs; Debian's npm is the fallback.
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} system packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
