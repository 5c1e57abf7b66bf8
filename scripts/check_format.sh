#!/usr/bin/env bash
# Formatting, checked: every C++ file in the repository is as clang-format (.clang-format) would
# write it. `scripts/check_format.sh --fix` formats them in place.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
command -v clang-format > /dev/null || { echo "check_format: clang-format is needed (Debian: clang-format)"; exit 1; }
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.h' '*.cc')
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
  exit 0
fi
if ! clang-format --dry-run -Werror "${files[@]}" 2> /tmp/check_format.$$; then
  grep -E "^[^ ].*: (error|warning):" /tmp/check_format.$$ | cut -d: -f1 | sort | uniq -c | sed 's/^/check_format: lines to reformat in /' | head -50
  rm -f /tmp/check_format.$$
  echo "check_format: run scripts/check_format.sh --fix"
  exit 1
fi
rm -f /tmp/check_format.$$
echo "check_format: ${#files[@]} files formatted as .clang-format says"
