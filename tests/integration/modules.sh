#!/usr/bin/env bash
# The installed tree as a site hands it out: `cmake --install` into a fresh
# prefix, then, in a clean shell with Lmod, `module load batchai` from the
# Lua and from the Tcl modulefile: the tools are on PATH, BATCHAI_ROOT and
# (when the site has one) BATCHAI_CONF are set, the installed example
# validates, the installed bash completion completes, `man batchai` finds
# the installed manuals (batchai, batchai-train, batchai-prolog), and `module unload`
# puts PATH back. Then the tree is moved and
# works once its modulefile names the new place.
#   modules.sh BUILD_DIR
set -euo pipefail
build=$1
lmod_init=/usr/share/lmod/lmod/init/bash
[ -r "$lmod_init" ] || { echo "modules.sh: skipped: Lmod is not installed ($lmod_init)"; exit 77; }
work=$(mktemp -d /tmp/batchai-modules.XXXXXX)
trap 'rm -rf "$work"' EXIT
prefix=$work/apps/batchai
cmake --install "$build" --prefix "$prefix" >/dev/null
version=$(sed -n 's/^local root.*//; s/^whatis("Version: \(.*\)")$/\1/p' "$prefix"/share/modulefiles/batchai/*.lua)

# Runs the checks in a shell with nothing of ours in its environment.
check() {
  env -i HOME="$work" PATH=/usr/local/bin:/usr/bin:/bin LMOD_INIT="$lmod_init" MODULES="$1" ROOT="$2" CONF="$3" \
    VERSION="$version" bash --noprofile --norc -euo pipefail -c '
    . "$LMOD_INIT"
    module use "$MODULES"
    before=$PATH
    module load batchai
    fail() { echo "modules.sh: $MODULES: $*" >&2; exit 1; }
    [ "$(command -v batchai)" = "$ROOT/bin/batchai" ] || fail "batchai is $(command -v batchai)"
    [ "$(command -v batchai-train)" = "$ROOT/bin/batchai-train" ] || fail "no batchai-train"
    [ "$BATCHAI_ROOT" = "$ROOT" ] || fail "BATCHAI_ROOT is $BATCHAI_ROOT"
    [ "${BATCHAI_CONF:-}" = "$CONF" ] || fail "BATCHAI_CONF is ${BATCHAI_CONF:-unset}"
    batchai --version | grep -q "^batchai $VERSION " || fail "version: $(batchai --version)"
    out=$(batchai job validate -f "$BATCHAI_ROOT/share/batchai/examples/cifar10-horovod.json")
    [ "$out" = valid ] || fail "validate said: $out"
    # The installed completion, generated from the command table.
    . "$ROOT/share/bash-completion/completions/batchai"
    COMP_WORDS=(batchai cluster node e)
    COMP_CWORD=3
    _batchai
    [ "${COMPREPLY[*]}" = exec ] || fail "completion offered: ${COMPREPLY[*]}"
    # The installed manual, through the MANPATH the module sets.
    [ "$(man -w batchai)" = "$ROOT/share/man/man1/batchai.1" ] || fail "man -w batchai: $(man -w batchai 2>&1)"
    [ "$(man -w batchai-train)" = "$ROOT/share/man/man1/batchai-train.1" ] || fail "man -w batchai-train: $(man -w batchai-train 2>&1)"
    [ "$(man -w 8 batchai-prolog)" = "$ROOT/share/man/man8/batchai-prolog.8" ] || fail "man -w 8 batchai-prolog: $(man -w 8 batchai-prolog 2>&1)"
    # Each page lists its program'"'"'s options, and renders without a warning.
    man batchai-train 2>&1 | grep -q -- "--resume" || fail "batchai-train(1) lacks --resume"
    [ -z "$(MANWIDTH=80 man --warnings=w 8 batchai-prolog 2>&1 >/dev/null)" ] || fail "batchai-prolog(8) has groff warnings"
    # The guides the module help names are where it says.
    module help batchai 2>&1 | grep -q "share/doc/batchai-slurm/user-guide.md" || fail "module help names no user guide"
    [ -s "$BATCHAI_ROOT/share/doc/batchai-slurm/user-guide.md" ] || fail "no installed user guide"
    [ -s "$BATCHAI_ROOT/share/doc/batchai-slurm/admin-guide.md" ] || fail "no installed admin guide"
    module unload batchai
    [ "$PATH" = "$before" ] || fail "PATH not restored: $PATH"
    [ -z "${BATCHAI_ROOT:-}" ] || fail "BATCHAI_ROOT left set"
  '
}

check "$prefix/share/modulefiles" "$prefix" ""
check "$prefix/share/modulefiles-tcl" "$prefix" ""
echo "modules.sh: Lua and Tcl modulefiles load, run and unload"

# A site configuration in the tree is picked up.
cp "$prefix/etc/batchai/site.json.example" "$prefix/etc/batchai/site.json"
check "$prefix/share/modulefiles" "$prefix" "$prefix/etc/batchai/site.json"
echo "modules.sh: BATCHAI_CONF names the tree's site.json"

# Moved: only the modulefile's root changes; the binaries carry no paths
# into the tree (RUNPATH names system directories only).
moved=$work/elsewhere/batchai
mkdir -p "$(dirname "$moved")"
mv "$prefix" "$moved"
sed -i "s|^local root = .*|local root = \"$moved\"|" "$moved"/share/modulefiles/batchai/*.lua
check "$moved/share/modulefiles" "$moved" "$moved/etc/batchai/site.json"
echo "modules.sh: a moved tree works through its modulefile"
