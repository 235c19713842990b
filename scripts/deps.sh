#!/usr/bin/env bash
# Installs what stacktop needs to build, test and benchmark on Debian 12, if anything is
# missing. As root it runs apt-get; otherwise it prints the exact apt-get line and fails.
# Usage: scripts/deps.sh [build|test]   (test adds tmux, clang-format, eu-stack, top, htop...)
set -euo pipefail
mode=${1:-build}
packages=(cmake make gcc g++ pkg-config libdw-dev libelf-dev libunwind-dev libncurses-dev
          libsqlite3-dev)
if [ "$mode" = test ]; then
  packages+=(tmux clang-format elfutils sqlite3 procps htop strace ncurses-term python3 binutils)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "stacktop needs: ${missing[*]}" >&2
  echo "run as root:  apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
