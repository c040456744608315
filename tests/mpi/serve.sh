# `iamp serve` under mpirun: answer jobs are amplified on the workers with
# the served model (equal to `iamp answer` in one process), a train job
# runs its rounds on the workers and the answers that follow come from the
# newly trained model; a traced job is refused with the reason; SIGTERM
# to rank 0 stops every rank cleanly.
source "$(dirname "$0")/lib.sh.inc"
SERVER=
cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
T=permpow:n=16,kmax=15,seed=3
"$IAMP" train --task $T --algo imitate --rounds 20 --questions 64 --eval-size 64 \
    --checkpoint-dir "$TMP/data" --quiet >/dev/null || fail "training the model"
run_np 3 serve --listen 127.0.0.1:0 --port-file "$TMP/port" --data-dir "$TMP/data" \
    >"$TMP/serve.out" 2>&1 &
SERVER=$!
for _ in $(seq 400); do [ -s "$TMP/port" ] && break; sleep 0.05; done
[ -s "$TMP/port" ] || { cat "$TMP/serve.out"; fail "server did not start"; finish; }
ADDR=127.0.0.1:$(cat "$TMP/port")
"$IAMP" info --addr "$ADDR" | grep -q "ranks 3\|\"ranks\":3\|3 ranks" ||
    fail "info does not report 3 ranks: $("$IAMP" info --json --addr "$ADDR")"
for x in $(seq 0 15); do for k in 3 7 12 15; do echo "pow x=$x k=$k"; done; done >"$TMP/q.txt"
for depth in 0 2; do
    "$IAMP" submit --addr "$ADDR" --depth $depth --wait "$TMP/q.txt" >"$TMP/got$depth.jsonl" ||
        fail "submit depth $depth"
    "$IAMP" answer --checkpoint "$TMP/data/checkpoint.pb" --depth $depth "$TMP/q.txt" \
        >"$TMP/want$depth.jsonl" || fail "iamp answer depth $depth"
    cmp -s "$TMP/want$depth.jsonl" "$TMP/got$depth.jsonl" || fail "depth $depth differs from iamp answer"
done
# Traces need every node in one process, as for iamp answer --trace.
if "$IAMP" submit --addr "$ADDR" --wait --trace "$TMP/t.jsonl" "$TMP/q.txt" >"$TMP/t.out" 2>&1; then
    fail "a traced job was accepted under mpirun"
fi
grep -q "trace needs one process: under mpirun" "$TMP/t.out" || fail "trace: $(cat "$TMP/t.out")"
[ ! -e "$TMP/t.jsonl" ] || fail "a refused traced job left a trace file"
"$IAMP" submit --addr "$ADDR" --kind train --rounds 5 --wait >"$TMP/train.out" 2>&1 ||
    fail "train job: $(cat "$TMP/train.out")"
"$IAMP" submit --addr "$ADDR" --depth 1 --wait "$TMP/q.txt" >"$TMP/after.jsonl" ||
    fail "submit after training"
# Stop it the way deploy/README.md says: SIGTERM to rank 0, which tells the
# workers to leave (a signal to mpirun also stops it, but mpirun exits 1).
rank0=$(rank_pid "$SERVER" 0)
[ -n "$rank0" ] || fail "rank 0 not found"
kill -TERM "$rank0"
status=0
wait "$SERVER" || status=$?
SERVER=
[ "$status" -eq 0 ] || fail "mpirun exited $status after SIGTERM: $(tail -5 "$TMP/serve.out")"
"$IAMP" answer --checkpoint "$TMP/data/checkpoint.pb" --depth 1 "$TMP/q.txt" >"$TMP/want1.jsonl" ||
    fail "iamp answer after training"
cmp -s "$TMP/want1.jsonl" "$TMP/after.jsonl" || fail "answers after training differ from the saved model's"
finish
