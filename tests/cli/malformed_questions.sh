# A malformed question line fails the whole command (exit 1) before any
# output, naming the file and line; good input still works.
source "$(dirname "$0")/lib.sh.inc"
printf 'pow x=1 k=2\n# a comment\n\npow x=3 k=4\n' >"$TMP/good.txt"
printf 'pow x=1 k=2\npow x=3 k=99\n' >"$TMP/range.txt"
printf 'pow x=1 k=2\nhello world\n' >"$TMP/syntax.txt"
expect_error 1 "range.txt line 2" -- "$IAMP" answer --task permpow "$TMP/range.txt"
expect_error 1 "k in [1, 63]" -- "$IAMP" answer --task permpow "$TMP/range.txt"
expect_error 1 "syntax.txt line 2" -- "$IAMP" answer --task permpow "$TMP/syntax.txt"
expect_error 1 "cannot open" -- "$IAMP" answer --task permpow "$TMP/missing.txt"
"$IAMP" answer --task permpow --depth 2 "$TMP/good.txt" >"$TMP/out" 2>/dev/null ||
    fail "good input failed"
[ "$(wc -l <"$TMP/out")" -eq 2 ] || fail "want 2 answers, got $(cat "$TMP/out")"
grep -q '^{"question":"pow x=3 k=4","answer":"[0-9]*","depth":2}$' "$TMP/out" ||
    fail "unexpected JSONL: $(cat "$TMP/out")"
# stdin works too
printf 'pow x=0 k=1\n' | "$IAMP" answer --task permpow - 2>/dev/null | grep -q '"pow x=0 k=1"' ||
    fail "stdin input"
finish
