# A damaged journal (issue 15): one flipped bit in the middle of a real
# server's journal loses at most the job whose record it hit — every other
# job keeps its state and its own answers — and no job id is handed out
# twice; `iamp serve --check-journal` reports the damage (exit 1) and,
# after the restart's rewrite, an intact journal (exit 0). A journal of
# random bytes is refused with a reason and left as it was.
source "$(dirname "$0")/lib.sh.inc" "$@"
TASK=permpow:n=16,kmax=15,seed=3
start_server "$TMP/data" --task $TASK
for i in $(seq 1 20); do
    printf 'pow x=%d k=%d\npow x=%d k=%d\n' $((i % 16)) $((1 + i % 15)) $(((i + 5) % 16)) \
        $((1 + (i * 7) % 15)) >"$TMP/q$i.txt"
    id=$("$IAMP" submit --addr "$ADDR" --key "job-$i" "$TMP/q$i.txt") || fail "submit $i"
    echo "$id" >>"$TMP/ids"
done
for id in $(cat "$TMP/ids"); do
    "$IAMP" watch --addr "$ADDR" "$id" >/dev/null || fail "job $id did not finish"
    "$IAMP" result --addr "$ADDR" "$id" >"$TMP/r$id.jsonl" || fail "result $id"
done
stop_server
[ "$(sort -u "$TMP/ids" | wc -l)" -eq 20 ] || fail "20 distinct ids: $(tr '\n' ' ' <"$TMP/ids")"
"$IAMP" serve --data-dir "$TMP/data" --check-journal >"$TMP/check0.txt" ||
    fail "check of an intact journal: $(cat "$TMP/check0.txt")"
grep -q "^intact$" "$TMP/check0.txt" || fail "intact journal: $(cat "$TMP/check0.txt")"

size=$(stat -c %s "$TMP/data/journal")
/usr/bin/python3 - "$TMP/data/journal" $((size / 3)) <<'PY'
import sys
path, at = sys.argv[1], int(sys.argv[2])
with open(path, "r+b") as f:
    f.seek(at)
    b = f.read(1)
    f.seek(at)
    f.write(bytes([b[0] ^ 0x10]))
PY
"$IAMP" serve --data-dir "$TMP/data" --check-journal >"$TMP/check1.txt" &&
    fail "check of a damaged journal exits 0: $(cat "$TMP/check1.txt")"
grep -q "^damaged: 1 range" "$TMP/check1.txt" || fail "check: $(cat "$TMP/check1.txt")"
cmp -s <(stat -c %s "$TMP/data/journal") <(echo "$size") || fail "--check-journal changed the file"

start_server "$TMP/data" --task $TASK
grep -q "journal: DAMAGED: 1 range" "$TMP/serve.err" || fail "no damage report at start"
known=0
for id in $(cat "$TMP/ids"); do
    if "$IAMP" result --addr "$ADDR" "$id" >"$TMP/again.jsonl" 2>"$TMP/again.err"; then
        cmp -s "$TMP/r$id.jsonl" "$TMP/again.jsonl" || fail "job $id answers changed"
        known=$((known + 1))
    fi
done
[ "$known" -ge 19 ] || fail "only $known of 20 jobs survived one flipped bit"
new=$("$IAMP" submit --addr "$ADDR" --key "after" "$TMP/q1.txt") || fail "submit after damage"
grep -qx "$new" "$TMP/ids" && fail "job id $new handed out twice"
"$IAMP" watch --addr "$ADDR" "$new" >/dev/null || fail "new job $new did not finish"
stop_server
"$IAMP" serve --data-dir "$TMP/data" --check-journal >"$TMP/check2.txt" ||
    fail "journal not intact after the restart's rewrite: $(cat "$TMP/check2.txt")"

head -c 5000 /dev/urandom >"$TMP/data/journal"
cp "$TMP/data/journal" "$TMP/random"
"$IAMP" serve --listen 127.0.0.1:0 --data-dir "$TMP/data" --task $TASK >"$TMP/out" 2>"$TMP/err" &&
    fail "a server started on a journal of random bytes"
[ "$(wc -l <"$TMP/err")" -eq 1 ] || fail "want one line: $(cat "$TMP/err")"
grep -q "^iamp: serve: journal .*: not an iamp journal" "$TMP/err" || fail "reason: $(cat "$TMP/err")"
cmp -s "$TMP/random" "$TMP/data/journal" || fail "the refused journal was changed"
"$IAMP" serve --data-dir "$TMP/data" --check-journal >/dev/null 2>"$TMP/err" &&
    fail "--check-journal of random bytes exits 0"
echo "20 jobs, one bit flipped: $known kept their answers, new id $new; random bytes refused; ok"
