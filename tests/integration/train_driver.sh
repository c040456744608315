# One round driver: `iamp train` (3 rounds, then --resume to 10) and the
# service's train jobs (3 rounds, then 7 more) run the same rounds with the
# same cadence: the metrics rows (timings aside) and the saved model
# (wall-clock fields aside, scripts/checkpoint-digest) are identical, with
# evaluations at rounds 3 (the first run's last), 4, 8 and 10 and nulls in
# every other row.
source "$(dirname "$0")/lib.sh.inc" "$@"
TASK=permpow:n=16,kmax=15,seed=3
CADENCE="--eval-every 4 --checkpoint-every 3"

"$IAMP" train --task $TASK --algo imitate --questions 64 --rounds 3 $CADENCE \
    --checkpoint-dir "$TMP/a" --metrics "$TMP/a.jsonl" --quiet >/dev/null || fail "train"
"$IAMP" train --resume --checkpoint-dir "$TMP/a" --rounds 10 $CADENCE \
    --metrics "$TMP/a.jsonl" --quiet >/dev/null || fail "train --resume"

start_server "$TMP/b" --task $TASK $CADENCE --quiet
"$IAMP" submit --addr "$ADDR" --kind train --algo imitate --rounds 3 --questions 64 --wait \
    >/dev/null || fail "first train job"
"$IAMP" submit --addr "$ADDR" --kind train --rounds 7 --wait >/dev/null || fail "second train job"
stop_server

strip_timings "$TMP/a.jsonl" >"$TMP/a.rows"
strip_timings "$TMP/b/jobs/1.metrics.jsonl" "$TMP/b/jobs/2.metrics.jsonl" >"$TMP/b.rows"
[ "$(wc -l <"$TMP/a.rows")" -eq 10 ] || fail "iamp train wrote $(wc -l <"$TMP/a.rows") rows, want 10"
cmp -s "$TMP/a.rows" "$TMP/b.rows" || fail "metrics rows differ: $(diff "$TMP/a.rows" "$TMP/b.rows" | head -6)"
evaluated=$(grep -v '"accuracy":null' "$TMP/a.rows" | sed 's/{"round":\([0-9]*\),.*/\1/' | tr '\n' ' ')
[ "$evaluated" = "3 4 8 10 " ] || fail "evaluated rounds: $evaluated, want 3 4 8 10"
grep '"accuracy":null' "$TMP/a.rows" | grep -q '"accuracy_pow":[0-9]' &&
    fail "an unevaluated row reports a per-type accuracy"
a=$("$DIGEST" "$TMP/a/checkpoint.pb" | cut -c1-64)
b=$("$DIGEST" "$TMP/b/checkpoint.pb" | cut -c1-64)
[ -n "$a" ] && [ "$a" = "$b" ] || fail "saved models differ: train $a, serve $b"
echo "10 rounds through iamp train and two train jobs: same rows, same model $a; ok"
