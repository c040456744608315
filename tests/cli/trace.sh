# iamp answer --trace: each question's tree is permpow's H decomposition
# (checked node by node by trace_check.py, which works H out itself), the
# answers are byte for byte those without --trace at depths 0..3, a
# question on facts names them in its record, and bad uses fail with one
# line and leave no trace file.
source "$(dirname "$0")/lib.sh.inc"
CHECK=$(dirname "$0")/trace_check.py
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
T=permpow:n=16,kmax=15
"$IAMP" train --task $T --algo imitate --rounds 20 --questions 64 --quiet \
    --checkpoint-dir "$TMP/run" >/dev/null || fail "training"
CK=$TMP/run/checkpoint.pb
for x in $(seq 0 15); do for k in 1 2 3 5 8 13 15; do echo "pow x=$x k=$k"; done; done >"$TMP/q.txt"
for depth in 0 1 2 3; do
    "$IAMP" answer --checkpoint "$CK" --depth $depth "$TMP/q.txt" >"$TMP/plain.jsonl" ||
        fail "depth $depth: answer"
    "$IAMP" answer --checkpoint "$CK" --depth $depth --trace "$TMP/t$depth.jsonl" "$TMP/q.txt" \
        >"$TMP/traced.jsonl" || fail "depth $depth: answer --trace"
    cmp -s "$TMP/plain.jsonl" "$TMP/traced.jsonl" || fail "depth $depth: --trace changed answers"
    "$PY" "$CHECK" "$TMP/plain.jsonl" "$TMP/t$depth.jsonl" $([ $depth -eq 1 ] && echo --k5) ||
        fail "depth $depth: trace_check"
done
grep -q '"by":"model"' "$TMP/t0.jsonl" || fail "depth 0: M answers every root"
grep -q '"by":"primitive"' "$TMP/t0.jsonl" && fail "depth 0: no primitive"
grep -q '"by":"overseer"' "$TMP/t2.jsonl" || fail "depth 2: no overseer node"
grep -q '"nodes":1,"tree":{"id":0,"question":"pow x=3 k=1","answer":"[0-9]*","by":"primitive"' \
    "$TMP/t2.jsonl" || fail "depth 2: pow x=3 k=1 is not a primitive leaf"

# Questions on facts: the record names its context and facts, and H's
# primitives read sigma from them.
C=permpow:n=8,context=1
{
    echo 'facts: 0 1, 1 2, 2 3, 3 4, 4 5, 5 6, 6 7, 7 0'
    echo 'pow x=0 k=5'
    echo 'pow x=3 k=7'
    echo 'facts: 0 7, 7 6, 6 5, 5 4, 4 3, 3 2, 2 1, 1 0'
    echo 'pow x=2 k=6'
} >"$TMP/f.txt"
"$IAMP" answer --task $C --depth 2 "$TMP/f.txt" >"$TMP/fplain.jsonl" 2>/dev/null || fail "facts"
"$IAMP" answer --task $C --depth 2 --trace "$TMP/ft.jsonl" "$TMP/f.txt" >"$TMP/ftraced.jsonl" \
    2>/dev/null || fail "facts --trace"
cmp -s "$TMP/fplain.jsonl" "$TMP/ftraced.jsonl" || fail "facts: --trace changed answers"
"$PY" "$CHECK" "$TMP/fplain.jsonl" "$TMP/ft.jsonl" || fail "facts: trace_check"
grep -q '^{"question":"pow x=2 k=6","context":2,"facts":"0 7, 7 6, 6 5, 5 4, 4 3, 3 2, 2 1, 1 0",' \
    "$TMP/ft.jsonl" || fail "facts: the record does not name context 2's facts: $(cat "$TMP/ft.jsonl")"
grep -q '"question":"pow x=0 k=5".*"answer":"5"' "$TMP/ft.jsonl" ||
    fail "facts: sigma^5(0) is 5 on the first facts"

# Bad uses: one line, the right exit status, no trace file left behind.
expect_error 2 "--trace takes a file" -- "$IAMP" answer --checkpoint "$CK" --trace - "$TMP/q.txt"
expect_error 1 "cannot write trace $TMP/none/t.jsonl" -- \
    "$IAMP" answer --checkpoint "$CK" --trace "$TMP/none/t.jsonl" "$TMP/q.txt"
printf 'pow x=3 k=2\npow x=99 k=1\n' >"$TMP/bad.txt"
expect_error 1 "bad.txt line 2" -- "$IAMP" answer --checkpoint "$CK" --trace "$TMP/bad.jsonl" \
    "$TMP/bad.txt"
[ ! -e "$TMP/bad.jsonl" ] || fail "a trace file was written for input that failed"
finish
