# 50 clients at once submit answer jobs to a real `iamp serve` (real
# sockets) and wait for them; every job's answers equal `iamp answer` on
# the same questions and model (a checkpoint trained here, served from the
# data directory).
source "$(dirname "$0")/lib.sh.inc" "$@"
TASK=permpow:n=16,kmax=15,seed=3

"$IAMP" train --task $TASK --algo imitate --rounds 30 --questions 64 --eval-size 64 \
    --checkpoint-dir "$TMP/data" --quiet >/dev/null || fail "training the model"
start_server "$TMP/data"

# 50 question files of 1..40 questions, depths 0..2.
for i in $(seq 50); do
    awk -v seed="$i" 'BEGIN { srand(seed); n = 1 + int(rand() * 40);
        for (j = 0; j < n; j++) printf "pow x=%d k=%d\n", int(rand() * 16), 1 + int(rand() * 15) }' \
        >"$TMP/q$i.txt"
done
start=$(date +%s%N)
pids=()
for i in $(seq 50); do
    "$IAMP" submit --addr "$ADDR" --depth $((i % 3)) --wait "$TMP/q$i.txt" \
        >"$TMP/got$i.jsonl" 2>"$TMP/err$i.txt" &
    pids+=($!)
done
bad=0
for i in $(seq 50); do
    wait "${pids[$((i - 1))]}" || { echo "client $i: $(cat "$TMP/err$i.txt")"; bad=$((bad + 1)); }
done
took=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$bad" -eq 0 ] || fail "$bad clients failed"
for i in $(seq 50); do
    "$IAMP" answer --checkpoint "$TMP/data/checkpoint.pb" --depth $((i % 3)) "$TMP/q$i.txt" \
        >"$TMP/want$i.jsonl" || fail "iamp answer $i"
    cmp -s "$TMP/want$i.jsonl" "$TMP/got$i.jsonl" || {
        diff "$TMP/want$i.jsonl" "$TMP/got$i.jsonl" | head -5; fail "client $i differs from iamp answer"; }
done
total=$(cat "$TMP"/got*.jsonl | wc -l)
echo "50 concurrent clients, $total answers, all equal to iamp answer (${took} ms)"
kill -TERM "$SERVER"
wait "$SERVER" || fail "server exited non-zero after SIGTERM"
SERVER=
echo ok
