# A worker that stops answering (SIGSTOP) is named by the coordinator once
# the wait passes IAMP_TIMEOUT_MS (workers blocked on it in an allreduce are
# named too); when it continues (SIGCONT) the run finishes normally.
source "$(dirname "$0")/lib.sh.inc"
export IAMP_TIMEOUT_MS=1000
run_np 3 train --task permpow:n=16,kmax=15 --algo imitate --rounds 400 --questions 64 \
    --log-every 1 >"$TMP/out.txt" 2>&1 &
launcher=$!
for _ in $(seq 1 200); do
    grep -q "^round" "$TMP/out.txt" 2>/dev/null && break
    sleep 0.1
done
victim=$(rank_pid $launcher 2)
[ -n "$victim" ] || { kill $launcher; fail "no rank-2 process found"; finish; }
kill -STOP "$victim"
for _ in $(seq 1 100); do
    grep -Eq 'no reply from rank\(s\) ([0-9]+, )*2( |,|$)' "$TMP/out.txt" && break
    sleep 0.1
done
kill -CONT "$victim"
grep -E -m1 'no reply from rank\(s\) ([0-9]+, )*2( |,|$)' "$TMP/out.txt" ||
    fail "no message naming the stalled rank 2: $(grep -v '^round' "$TMP/out.txt" | tail -5)"
status=0
wait $launcher || status=$?
[ "$status" -eq 0 ] || fail "run failed after the worker continued: $(tail -3 "$TMP/out.txt")"
grep -q "^done:" "$TMP/out.txt" || fail "no final line: $(grep -v Warning "$TMP/out.txt" | grep -v "^round" | head -20)"
finish
