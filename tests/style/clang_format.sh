#!/usr/bin/env bash
# clang_format.sh — every .c/.h file under src/ and tests/ is formatted as
# .clang-format says (clang-format --dry-run --Werror lists each offending
# line). Usage: clang_format.sh SOURCE_ROOT
set -euo pipefail
root=$1
cd "$root"
command -v clang-format >/dev/null ||
  { echo "clang-format is not installed (tools/deps/base.txt lists it)"; exit 1; }
mapfile -d '' files < <(find src tests -type f \( -name '*.c' -o -name '*.h' \) -print0 | sort -z)
[ "${#files[@]}" -gt 0 ] || { echo "no C files found under $root"; exit 1; }
if clang-format --style=file --dry-run --Werror "${files[@]}"; then
  echo "${#files[@]} files formatted as .clang-format says"
else
  echo "FAIL: run clang-format -i on the files above"
  exit 1
fi
