# train 8 rounds straight == train 4, then --resume to 8: same answers
# from both final models on every question of the task; and the same for
# an RL mode (mixed on tictactoe), whose held-out figures must agree.
source "$(dirname "$0")/lib.sh.inc"
T=permpow:n=8,kmax=7
common="--task $T --algo imitate --questions 32 --eval-size 56 --quiet --target-sync 3"
"$IAMP" train $common --rounds 8 --checkpoint-dir "$TMP/a" >/dev/null || fail "straight run"
"$IAMP" train $common --rounds 4 --checkpoint-dir "$TMP/b" >/dev/null || fail "first half"
"$IAMP" train --rounds 8 --checkpoint-dir "$TMP/b" --resume --quiet >"$TMP/resumed.txt" ||
    fail "resume"
grep -q "round 8," "$TMP/resumed.txt" || fail "resume did not reach round 8: $(cat "$TMP/resumed.txt")"
for x in 0 1 2 3 4 5 6 7; do for k in 1 2 3 4 5 6 7; do echo "pow x=$x k=$k"; done; done >"$TMP/q.txt"
"$IAMP" answer --checkpoint "$TMP/a/checkpoint.pb" --depth 0 "$TMP/q.txt" >"$TMP/a.jsonl" || fail "answer a"
"$IAMP" answer --checkpoint "$TMP/b/checkpoint.pb" --depth 0 "$TMP/q.txt" >"$TMP/b.jsonl" || fail "answer b"
[ "$(wc -l <"$TMP/a.jsonl")" -eq 56 ] || fail "want 56 answers"
cmp -s "$TMP/a.jsonl" "$TMP/b.jsonl" || fail "resumed model answers differently"
cmp -s <("$IAMP" eval --checkpoint "$TMP/a/checkpoint.pb" --json) \
    <("$IAMP" eval --checkpoint "$TMP/b/checkpoint.pb" --json) || fail "eval differs"

# The same for an RL mode: sampled answers, the value baseline, p_ref (taken
# at round 3, before the cut) and mixed's KL term all resume exactly.
R="--task tictactoe --algo mixed --warmup 3 --questions 32 --eval-size 30 --hidden 32 --quiet --target-sync 3"
"$IAMP" train $R --rounds 8 --checkpoint-dir "$TMP/c" >/dev/null || fail "straight RL run"
"$IAMP" train $R --rounds 5 --checkpoint-dir "$TMP/d" >/dev/null || fail "first half of RL run"
"$IAMP" train --rounds 8 --checkpoint-dir "$TMP/d" --resume --quiet >/dev/null || fail "RL resume"
cmp -s <("$IAMP" eval --checkpoint "$TMP/c/checkpoint.pb" --json) \
    <("$IAMP" eval --checkpoint "$TMP/d/checkpoint.pb" --json) || fail "RL resume: eval differs"
finish
