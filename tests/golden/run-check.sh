#!/usr/bin/env bash
# run-check.sh - golden tests of `sluice check` (queries/front.h), one directory per case.
#
#   tests/golden/run-check.sh SLUICE CASES_DIR [CASE…]     the golden cases
#   tests/golden/run-check.sh SLUICE --examples DIR         every DIR/*.sql must pass check
#
# A case directory holds the query and what `sluice check` must print:
#   query.sql      the file checked (or query/, a directory checked as one load)
#   expected.out   the plan printout on stdout; the run must exit 0
#   expected.err   the diagnostics on stderr; the run must exit 1 unless expected.out exists
#                  (then it holds the warnings of a successful run). No expected.err: stderr
#                  must be empty.
#   env            optional: NAME=value lines, the only environment variables the run sees
#                  besides PATH (so AWS_REGION and friends never leak in from the caller)
# The check runs inside the case directory, so file names in messages are relative and
# ${file:name} can read a file of the case. Expected files are written by hand from SQL.md
# and the print format of queries/load.c, never recorded from the program.
set -uo pipefail

if [ $# -lt 2 ]; then
    echo "usage: $0 SLUICE CASES_DIR [CASE…] | $0 SLUICE --examples DIR" >&2
    exit 2
fi
sluice=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
pass=0

if [ "$1" = "--examples" ]; then
    for f in "$2"/*.sql; do
        if env -i PATH="$PATH" "$sluice" check "$f" >"$tmp/out" 2>"$tmp/err"; then
            if [ -s "$tmp/err" ]; then
                echo "FAIL example $f: warnings"
                cat "$tmp/err"
                fail=$((fail + 1))
            else
                pass=$((pass + 1))
            fi
        else
            echo "FAIL example $f"
            cat "$tmp/err"
            fail=$((fail + 1))
        fi
    done
    echo "examples: $pass passed, $fail failed"
    [ "$fail" = 0 ]
    exit
fi

cases_dir=$(cd "$1" && pwd)
shift
if [ $# -gt 0 ]; then
    cases=("$@")
else
    cases=()
    for d in "$cases_dir"/*/; do
        cases+=("$(basename "$d")")
    done
fi

for c in "${cases[@]}"; do
    dir="$cases_dir/$c"
    target=query.sql
    [ -d "$dir/query" ] && target=query
    envs=(PATH="$PATH")
    if [ -f "$dir/env" ]; then
        while IFS= read -r line || [ -n "$line" ]; do
            [ -n "$line" ] && envs+=("$line")
        done <"$dir/env"
    fi
    (cd "$dir" && env -i "${envs[@]}" "$sluice" check "$target" >"$tmp/out" 2>"$tmp/err")
    code=$?
    ok=1
    why=""
    if [ -f "$dir/expected.out" ]; then
        [ "$code" = 0 ] || { ok=0; why="exit $code, expected 0"; }
        diff -u "$dir/expected.out" "$tmp/out" >"$tmp/diff.out" || { ok=0; why="$why stdout"; }
        if [ -f "$dir/expected.err" ]; then
            diff -u "$dir/expected.err" "$tmp/err" >"$tmp/diff.err" || { ok=0; why="$why stderr"; }
        else
            diff -u /dev/null "$tmp/err" >"$tmp/diff.err" || { ok=0; why="$why stderr not empty"; }
        fi
    elif [ -f "$dir/expected.err" ]; then
        [ "$code" = 1 ] || { ok=0; why="exit $code, expected 1"; }
        diff -u /dev/null "$tmp/out" >"$tmp/diff.out" || { ok=0; why="$why stdout not empty"; }
        diff -u "$dir/expected.err" "$tmp/err" >"$tmp/diff.err" || { ok=0; why="$why stderr"; }
    else
        ok=0
        why="no expected.out or expected.err"
    fi
    if [ "$ok" = 1 ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL $c:$why"
        cat "$tmp/diff.out" "$tmp/diff.err" 2>/dev/null | head -60
    fi
    rm -f "$tmp/diff.out" "$tmp/diff.err"
done
echo "golden check: $pass passed, $fail failed"
[ "$fail" = 0 ]
