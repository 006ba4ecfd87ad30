#!/usr/bin/env bash
# Every shell file in the source tree passes `shellcheck -S warning`: the
# scripts we install (share/batchai), the CI and bench drivers, the tests'
# own scripts and the golden job scripts the translator writes. A file is a
# shell file by its name (.sh, .sbatch) or by its first line (an sh, bash,
# dash or ksh shebang), so a new script is checked without being listed
# here. Build directories (build*) and .git are not looked in.
#   usage: tests/lint/shellcheck.sh SOURCE_DIR
set -euo pipefail
prog=shellcheck.sh
src=${1:?usage: $prog SOURCE_DIR}
command -v shellcheck >/dev/null ||
  { echo "$prog: skipped: shellcheck is not installed (share/batchai/setup-deps installs it)"; exit 77; }
cd "$src"

shebang='^#![[:space:]]*[^[:space:]]*/(env[[:space:]]+)?(ba|da|k)?sh([[:space:]]|$)'
files=()
while IFS= read -r -d '' f; do
  case $f in
    *.sh|*.sbatch|*.bats) files+=("${f#./}") ;;
    *) if LC_ALL=C head -n 1 -- "$f" | LC_ALL=C grep -Eq "$shebang"; then files+=("${f#./}"); fi ;;
  esac
done < <(find . \( -name .git -o -type d -name 'build*' \) -prune -o -type f -print0 | sort -z)
[ ${#files[@]} -gt 0 ] || { echo "$prog: FAIL: no shell files found under $src" >&2; exit 1; }

# One line per finding (file:line:column: severity: message [SCnnnn]).
if findings=$(shellcheck -S warning -f gcc -- "${files[@]}"); then
  echo "$prog: ${#files[@]} shell files pass shellcheck -S warning: ${files[*]}"
  exit 0
fi
echo "$findings"
failing=$(cut -d: -f1 <<<"$findings" | sort -u)
echo "$prog: FAIL: $(wc -l <<<"$failing") of ${#files[@]} shell files have findings: $(tr '\n' ' ' <<<"$failing")" >&2
exit 1
