#!/usr/bin/env bash
# Fails when any C source or header differs from what .clang-format produces.
# Usage: scripts/check-format.sh [clang-format]   (run from the source root)
set -euo pipefail
cf=${1:-clang-format}
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files -co --exclude-standard -- '*.c' '*.h' 2>/dev/null ||
                     find core store tui tests bench -name '*.[ch]')
[ ${#files[@]} -gt 0 ] || { echo "no sources found"; exit 1; }
"$cf" --dry-run --Werror "${files[@]}"
echo "format: ${#files[@]} files clean"
