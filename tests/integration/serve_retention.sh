# Retention (issue 15): with --retain-jobs 5 a server keeps the newest 5
# finished jobs; older ones answer NOT_FOUND "expired" (never another
# job's data), their result files are gone and the journal holds only what
# is kept — also after a restart. A journal past twice
# --journal-compact-bytes is compacted while serving, and keeps an
# unfinished job whole: after a SIGKILL it is still there and resumes (the
# server had handed its spec to the executor; compaction once wrote an
# empty SUBMIT for it and the job was lost at the next start).
source "$(dirname "$0")/lib.sh.inc" "$@"
TASK=permpow:n=16,kmax=15,seed=3
start_server "$TMP/data" --task $TASK --retain-jobs 5 --journal-compact-bytes 2000
for i in $(seq 1 12); do
    printf 'pow x=%d k=%d\n' $((i % 16)) $((1 + i % 15)) >"$TMP/q$i.txt"
    id=$("$IAMP" submit --addr "$ADDR" "$TMP/q$i.txt") || fail "submit $i"
    "$IAMP" watch --addr "$ADDR" "$id" >/dev/null || fail "job $id"
    "$IAMP" result --addr "$ADDR" "$id" >"$TMP/r$id.jsonl" || fail "result $id"
    echo "$id" >>"$TMP/ids"
done
sleep 2.5 # two housekeeping ticks
check_ids() { # what: expired ids answer "expired", the newest 5 their own answers
    local n=0
    for id in $(cat "$TMP/ids"); do
        n=$((n + 1))
        if [ $n -le 7 ]; then
            "$IAMP" result --addr "$ADDR" "$id" >/dev/null 2>"$TMP/err" && fail "$1: job $id still served"
            grep -q "has expired" "$TMP/err" || fail "$1: job $id: $(cat "$TMP/err")"
            [ ! -e "$TMP/data/jobs/$id.result" ] || fail "$1: job $id's result file is still there"
        else
            "$IAMP" result --addr "$ADDR" "$id" >"$TMP/again" || fail "$1: job $id not served"
            cmp -s "$TMP/again" "$TMP/r$id.jsonl" || fail "$1: job $id's answers changed"
        fi
    done
}
check_ids "serving"
"$IAMP" jobs --addr "$ADDR" >"$TMP/jobs.txt" || fail "jobs"
[ "$(grep -c answer "$TMP/jobs.txt")" -eq 5 ] || fail "jobs lists: $(cat "$TMP/jobs.txt")"
size=$(stat -c %s "$TMP/data/journal")
[ "$size" -lt 4000 ] || fail "journal of 5 kept jobs is $size bytes"
stop_server
start_server "$TMP/data" --task $TASK --retain-jobs 5
check_ids "after a restart"
new=$("$IAMP" submit --addr "$ADDR" "$TMP/q1.txt") || fail "submit after restart"
grep -qx "$new" "$TMP/ids" && fail "id $new handed out twice"
stop_server

start_server "$TMP/data" --task $TASK --retain-jobs 5 --journal-compact-bytes 2000
train=$("$IAMP" submit --addr "$ADDR" --kind train --rounds 100000 --questions 8) ||
    fail "submit train"
for i in $(seq 1 10); do
    id=$("$IAMP" submit --addr "$ADDR" "$TMP/q$i.txt") || fail "submit $i under training"
    "$IAMP" watch --addr "$ADDR" "$id" >/dev/null || fail "job $id under training"
done
sleep 2.5 # housekeeping: prune and compact with the train job running
grep -q "expired" "$TMP/serve.err" || fail "no pruning while the train job ran"
kill -KILL "$SERVER"
wait "$SERVER" 2>/dev/null
SERVER=
start_server "$TMP/data" --task $TASK --retain-jobs 5
"$IAMP" status --addr "$ADDR" "$train" >"$TMP/train.txt" 2>&1 || fail "train job $train lost: $(cat "$TMP/train.txt")"
grep -Eq "queued|running" "$TMP/train.txt" || fail "train job $train: $(cat "$TMP/train.txt")"
"$IAMP" cancel --addr "$ADDR" "$train" >/dev/null || fail "cancel $train"
stop_server
echo "12 jobs, 5 kept, 7 expired (journal $size bytes); an unfinished job survived compaction and a SIGKILL; ok"
