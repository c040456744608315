# The answer-domain tasks through the command line: trajectory answers are
# lists (H's own answer for l=1, a list of l elements at depth 1), markov
# answers are probabilities, graph answers distances and vertices (H's
# primitives: a == b, an edge); bad questions and task parameters fail
# with one line; a short run writes token_accuracy and mae to the metrics
# and the summary; RL modes refuse graph (no approval) and accept markov;
# a checkpoint with the continuous head evaluates again.
source "$(dirname "$0")/lib.sh.inc"
printf 'traj x=5 l=1\ntraj x=5 l=7\n' >"$TMP/t.txt"
"$IAMP" answer --task trajectory --depth 1 "$TMP/t.txt" >"$TMP/t.jsonl" 2>/dev/null || fail "answer trajectory"
grep -q '"question":"traj x=5 l=1","answer":"[0-9]*","depth":1' "$TMP/t.jsonl" ||
    fail "l=1 by H: $(cat "$TMP/t.jsonl")"
grep -q '"question":"traj x=5 l=7","answer":"[0-9]*\( [0-9]*\)\{6\}","depth":1' "$TMP/t.jsonl" ||
    fail "l=7: seven elements from H: $(cat "$TMP/t.jsonl")"
printf 'prob u=1 t=2 k=1\nprob u=1 t=2 k=6\n' >"$TMP/m.txt"
"$IAMP" answer --task markov --depth 1 "$TMP/m.txt" >"$TMP/m.jsonl" 2>/dev/null || fail "answer markov"
[ "$(grep -c '"answer":"[01]\.[0-9]\{4\}"' "$TMP/m.jsonl")" -eq 2 ] ||
    fail "probabilities: $(cat "$TMP/m.jsonl")"
printf 'dist a=3 b=3\nstep a=3 b=3\ndist a=0 b=200\n' >"$TMP/g.txt"
"$IAMP" answer --task graph --depth 1 "$TMP/g.txt" >"$TMP/g.jsonl" 2>/dev/null || fail "answer graph"
grep -q '"question":"dist a=3 b=3","answer":"0"' "$TMP/g.jsonl" || fail "dist 0: $(cat "$TMP/g.jsonl")"
grep -q '"question":"step a=3 b=3","answer":"none"' "$TMP/g.jsonl" || fail "none: $(cat "$TMP/g.jsonl")"
grep -q '"question":"dist a=0 b=200","answer":"\([0-9]*\|unreachable\)"' "$TMP/g.jsonl" ||
    fail "M's distance: $(cat "$TMP/g.jsonl")"

printf 'traj x=5 l=40\n' >"$TMP/bad.txt"
expect_error 1 "bad.txt line 1" -- "$IAMP" answer --task trajectory "$TMP/bad.txt"
printf 'prob u=1 t=9 k=2\n' >"$TMP/bad.txt"
expect_error 1 "u and t must be in [0, 7]" -- "$IAMP" answer --task markov "$TMP/bad.txt"
expect_error 2 "lmax=60 is out of range" -- "$IAMP" train --task trajectory:lmax=60 --algo imitate
expect_error 2 "s=40 is out of range" -- "$IAMP" train --task markov:s=40 --algo imitate
expect_error 2 "over dmax=4" -- "$IAMP" train --task graph:dmax=4 --algo imitate
expect_error 2 "no approval" -- "$IAMP" train --task graph --algo reinforce
expect_error 2 "too many token pairs" -- "$IAMP" train --task permpow:n=1024 --algo imitate --pair-slot

# --pair-slot: the shape lives in the checkpoint, so eval and a resumed run
# (which takes no model flags) build the same model.
"$IAMP" train --task graph:v=16 --algo imitate --pair-slot --rounds 2 --questions 32 --hidden 16 \
    --checkpoint-dir "$TMP/gp" --quiet >/dev/null || fail "graph --pair-slot run"
"$IAMP" train --checkpoint-dir "$TMP/gp" --resume --rounds 3 --quiet >/dev/null ||
    fail "graph --pair-slot resume"
"$IAMP" eval --checkpoint "$TMP/gp/checkpoint.pb" --json >/dev/null || fail "eval with the pair slot"
# graph's own training defaults (the pair slot, depth 3, ...) apply unless
# the command line sets them; tictactoe has none.
"$IAMP" train --task graph:v=16 --algo imitate --rounds 2 --questions 32 --hidden 16 \
    --checkpoint-dir "$TMP/gd" >"$TMP/gd.txt" || fail "graph with its defaults"
grep -q "^task graph trains with (unless given): --pair-slot .*--depth 3" "$TMP/gd.txt" ||
    fail "graph's defaults not announced: $(head -2 "$TMP/gd.txt")"
"$IAMP" train --task graph:v=16 --algo imitate --rounds 2 --questions 32 --hidden 16 \
    --no-pair-slot --checkpoint-dir "$TMP/gn" --quiet >/dev/null || fail "graph --no-pair-slot"
with=$(stat -c %s "$TMP/gd/checkpoint.pb")
without=$(stat -c %s "$TMP/gn/checkpoint.pb")
[ "$with" -gt $((4 * without)) ] || fail "pair slot by default: $with bytes vs $without without"
"$IAMP" train --task tictactoe --algo imitate --rounds 1 --questions 16 --hidden 8 \
    --eval-size 16 >"$TMP/tt.txt" || fail "tictactoe run"
grep -q "trains with" "$TMP/tt.txt" && fail "tictactoe announced task defaults: $(head -1 "$TMP/tt.txt")"
# The analysis aid beside iamp: every one of the 16 x 16 pairs counted
# once, and Amp(H, M) right at distances 0 and 1 (H's primitives).
BYD="$(dirname "$IAMP")/graph_by_distance"
"$BYD" "$TMP/gp/checkpoint.pb" dist >"$TMP/byd.txt" || fail "graph_by_distance"
[ "$(awk 'NR > 1 { n += $2 } END { print n }' "$TMP/byd.txt")" = 256 ] ||
    fail "graph_by_distance counts: $(cat "$TMP/byd.txt")"
[ "$(awk '$1 == "0" || $1 == "1" { print $4 }' "$TMP/byd.txt" | sort -u)" = "1.000" ] ||
    fail "graph_by_distance: Amp at distances 0 and 1: $(cat "$TMP/byd.txt")"

"$IAMP" train --task trajectory:n=8,lmax=4 --algo imitate --rounds 4 --questions 32 --hidden 32 \
    --eval-every 2 --metrics "$TMP/tm.jsonl" --quiet >"$TMP/out.txt" || fail "trajectory run"
grep -q "token_accuracy [0-9.]*" "$TMP/out.txt" || fail "summary: $(cat "$TMP/out.txt")"
tail -1 "$TMP/tm.jsonl" | grep -q '"token_accuracy":[0-9.e-]' || fail "metrics: $(tail -1 "$TMP/tm.jsonl")"
"$IAMP" train --task markov:kmax=4 --algo reinforce --warmup 1 --rounds 3 --questions 32 \
    --hidden 32 --metrics "$TMP/mm.jsonl" --checkpoint-dir "$TMP/mk" --quiet >"$TMP/out.txt" ||
    fail "markov reinforce run: $(cat "$TMP/out.txt")"
last=$(tail -1 "$TMP/mm.jsonl")
for f in mae approval reward value_error; do
    echo "$last" | grep -q "\"$f\":[0-9.e-]" || fail "markov metrics lack $f: $last"
done
"$IAMP" eval --checkpoint "$TMP/mk/checkpoint.pb" --json >"$TMP/ev.json" || fail "eval markov"
grep -q '"mae":[0-9.e-]' "$TMP/ev.json" || fail "eval --json lacks mae: $(cat "$TMP/ev.json")"
"$BYD" "$TMP/mk/checkpoint.pb" >/dev/null 2>"$TMP/err" && fail "graph_by_distance took a markov model"
grep -q "not graph" "$TMP/err" || fail "graph_by_distance on markov: $(cat "$TMP/err")"
finish
