# Missing, corrupt, truncated and mismatched checkpoints: exit 1, one line;
# a good checkpoint answers, evaluates and refuses to be overwritten.
source "$(dirname "$0")/lib.sh.inc"
T=permpow:n=8,kmax=7
"$IAMP" train --task $T --algo imitate --rounds 3 --questions 32 --eval-size 56 \
    --checkpoint-dir "$TMP/run" --quiet >/dev/null || fail "tiny training run"
CK=$TMP/run/checkpoint.pb
[ -s "$CK" ] || fail "no checkpoint written"
expect_error 1 "no such file" -- "$IAMP" eval --checkpoint "$TMP/none.pb"
head -c 300 /dev/urandom >"$TMP/random.pb"
expect_error 1 "not a valid iamp checkpoint" -- "$IAMP" eval --checkpoint "$TMP/random.pb"
head -c $(($(stat -c %s "$CK") - 9)) "$CK" >"$TMP/short.pb"
expect_error 1 "not a valid iamp checkpoint" -- "$IAMP" eval --checkpoint "$TMP/short.pb"
: >"$TMP/empty.pb"
expect_error 1 "not a valid iamp checkpoint" -- "$IAMP" answer --checkpoint "$TMP/empty.pb"
expect_error 1 "trained on task permpow:n=8,seed=1,kmax=7" -- \
    "$IAMP" eval --checkpoint "$CK" --task permpow:n=8,seed=2,kmax=7
expect_error 1 "exists; pass --resume" -- \
    "$IAMP" train --task $T --algo imitate --checkpoint-dir "$TMP/run"
expect_error 1 "was trained with --algo imitate" -- \
    "$IAMP" train --algo supervised --checkpoint-dir "$TMP/run" --resume
mkdir "$TMP/emptydir"
expect_error 1 "no such file" -- "$IAMP" train --checkpoint-dir "$TMP/emptydir" --resume
"$IAMP" eval --checkpoint "$CK" >"$TMP/eval.txt" 2>&1 || fail "eval of a good checkpoint"
grep -q "held-out accuracy" "$TMP/eval.txt" || fail "eval output: $(cat "$TMP/eval.txt")"
"$IAMP" eval --checkpoint "$CK" --json | grep -q '"accuracy":' || fail "eval --json"
finish
