#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages StreamBets needs in local mode (and for its tests), if missing.
# Usage: eng/install-prerequisites.sh [--with-browser]
set -euo pipefail

# curl and jq: the README's walk through the API uses them.
packages=(postgresql redis-server clickhouse-server curl jq)
if [ "${1:-}" = "--with-browser" ]; then
  packages+=(chromium)
fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if ! command -v dotnet >/dev/null 2>&1; then
  echo "The .NET 10 SDK is required (dotnet was not found on PATH)." >&2
  exit 1
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo=()
if [ "$(id -u)" != 0 ]; then
  sudo=(sudo)
fi
echo "Installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Wait for another apt or unattended-upgrades run (common on a fresh VM's first minutes) instead of failing at once.
apt_options=(-o DPkg::Lock::Timeout=600)
"${sudo[@]}" apt-get "${apt_options[@]}" update -qq
"${sudo[@]}" apt-get "${apt_options[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
