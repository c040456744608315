# A worker killed with SIGKILL during training ends the whole run within 60
# s, with a non-zero status and a message naming the rank.
source "$(dirname "$0")/lib.sh.inc"
run_np 3 train --task permpow --algo imitate --rounds 100000 --log-every 1 \
    >"$TMP/out.txt" 2>&1 &
launcher=$!
victim=""
for _ in $(seq 1 200); do
    grep -q "^round" "$TMP/out.txt" 2>/dev/null && break
    sleep 0.1
done
victim=$(rank_pid $launcher 2)
[ -n "$victim" ] || { kill $launcher; fail "no rank-2 process found"; finish; }
start=$(date +%s)
kill -9 "$victim"
status=0
for _ in $(seq 1 600); do
    kill -0 $launcher 2>/dev/null || break
    sleep 0.1
done
if kill -0 $launcher 2>/dev/null; then
    fail "run still going 60 s after the worker died"
    kill -9 $launcher
fi
wait $launcher || status=$?
took=$(($(date +%s) - start))
echo "exit $status after ${took}s"
[ "$status" -ne 0 ] || fail "exit status 0 after a worker died"
grep -qi "rank 2" "$TMP/out.txt" || fail "no message naming rank 2: $(tail -5 "$TMP/out.txt")"
grep -i "rank 2" "$TMP/out.txt" | head -2
finish
