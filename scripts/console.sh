#!/usr/bin/env bash
# One command to run the live console on a fresh Debian 12 machine: installs missing packages
# (as root), configures, builds and starts stacktop. Arguments are passed to stacktop.
#   bash scripts/console.sh [stacktop options]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/deps.sh" build
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$root/build" -j"$(nproc)" >/dev/null
exec "$root/build/stacktop" "$@"
