# A train job runs in `iamp serve` while answer jobs are served; cancel
# ends it after a round, keeping what it trained; the model in the data
# directory is what the server answers with, also after a restart.
source "$(dirname "$0")/lib.sh.inc" "$@"
TASK=permpow:n=16,kmax=15,seed=3
printf 'pow x=3 k=15\npow x=7 k=9\npow x=0 k=1\n' >"$TMP/q.txt"

start_server "$TMP/data" --task $TASK --checkpoint-every 2
train=$("$IAMP" submit --addr "$ADDR" --kind train --algo imitate --rounds 100000 --questions 64) ||
    fail "submit train"
sleep 0.5
"$IAMP" status --addr "$ADDR" "$train" | grep -q "train running" || fail "train job is not running"
for i in 1 2 3; do
    "$IAMP" submit --addr "$ADDR" --wait "$TMP/q.txt" >"$TMP/a$i.jsonl" || fail "answer job $i"
done
"$IAMP" status --addr "$ADDR" "$train" | grep -q "train running" ||
    fail "answer jobs did not finish while the train job ran"
"$IAMP" cancel --addr "$ADDR" "$train" >/dev/null || fail "cancel"
"$IAMP" watch --addr "$ADDR" "$train" >"$TMP/watch.txt" && fail "watch of a canceled job exits 0"
tail -1 "$TMP/watch.txt" | grep -q "train canceled" || fail "train job not canceled: $(tail -1 "$TMP/watch.txt")"
round=$("$IAMP" status --addr "$ADDR" --json "$train" | sed 's/.*"model_round":\([0-9]*\).*/\1/')
[ "$round" -ge 1 ] || fail "no rounds trained"
"$IAMP" submit --addr "$ADDR" --wait "$TMP/q.txt" >"$TMP/after.jsonl" || fail "answer after training"
stop_server

"$IAMP" answer --checkpoint "$TMP/data/checkpoint.pb" "$TMP/q.txt" >"$TMP/want.jsonl" ||
    fail "iamp answer"
cmp -s "$TMP/want.jsonl" "$TMP/after.jsonl" || fail "served answers differ from the checkpoint's"

start_server "$TMP/data"
"$IAMP" info --addr "$ADDR" | grep -q "round $round\$" || fail "restart: $("$IAMP" info --addr "$ADDR")"
"$IAMP" status --addr "$ADDR" "$train" | grep -q "train canceled" || fail "train job after restart"
"$IAMP" result --addr "$ADDR" "$train" 2>&1 | grep -q "was canceled" || fail "result of a canceled job"
"$IAMP" submit --addr "$ADDR" --wait "$TMP/q.txt" >"$TMP/again.jsonl" || fail "answer after restart"
cmp -s "$TMP/want.jsonl" "$TMP/again.jsonl" || fail "answers after restart differ"
"$IAMP" submit --addr "$ADDR" --kind eval --eval-size 64 --wait | grep -q '"state":"done"' ||
    fail "eval job"
stop_server
echo "train job canceled at round $round while 3 answer jobs were served; ok"
