# Traces of service jobs (SubmitJob.trace): `iamp submit --wait --trace`
# writes byte for byte what `iamp answer --trace` writes for the same
# questions and checkpoint (several result pages of trees, and questions
# on facts); the trace survives kill -9 and a restart (`iamp result
# --trace` again); a job without the flag has no trace and answers as
# before; trace on a train or eval job, or trees one page cannot carry,
# are refused with the reason; the Python client's items carry the same
# trees (serve_trace.py).
source "$(dirname "$0")/lib.sh.inc" "$@"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
T=permpow:n=16,kmax=15
"$IAMP" train --task $T --algo imitate --rounds 10 --questions 64 --quiet \
    --checkpoint-dir "$TMP/data" >/dev/null || fail "training"
CK=$TMP/data/checkpoint.pb
for _ in 1 2 3; do
    for x in $(seq 0 15); do for k in 1 2 3 5 8 13 15; do echo "pow x=$x k=$k"; done; done
done >"$TMP/q.txt"
"$IAMP" answer --checkpoint "$CK" --depth 3 --trace "$TMP/want.trace" "$TMP/q.txt" \
    >"$TMP/want.jsonl" || fail "iamp answer --trace"
start_server "$TMP/data"
"$IAMP" submit --addr "$ADDR" --depth 3 --wait --trace "$TMP/got.trace" "$TMP/q.txt" \
    >"$TMP/got.jsonl" 2>"$TMP/err.txt" || fail "submit --trace: $(cat "$TMP/err.txt")"
cmp -s "$TMP/want.jsonl" "$TMP/got.jsonl" || fail "traced answers differ from iamp answer"
cmp -s "$TMP/want.trace" "$TMP/got.trace" || {
    diff "$TMP/want.trace" "$TMP/got.trace" | head -4
    fail "the job's trace differs from iamp answer --trace"
}
[ "$(wc -l <"$TMP/got.trace")" -eq 336 ] || fail "want 336 trees"
nodes=$(grep -o '"nodes":[0-9]*' "$TMP/got.trace" | awk -F: '{n += $2} END {print n}')
[ "$nodes" -gt 1000 ] || fail "$nodes trace nodes fit one page of 1000: paging untested"
TRACED=$("$IAMP" jobs --addr "$ADDR" --limit 1 | sed -n 's/^job \([0-9]*\):.*/\1/p')

# Without the flag: no trace, the same answers.
PLAIN=$("$IAMP" submit --addr "$ADDR" --depth 3 "$TMP/q.txt") || fail "plain submit"
"$IAMP" watch --addr "$ADDR" "$PLAIN" >/dev/null || fail "plain job"
"$IAMP" result --addr "$ADDR" "$PLAIN" >"$TMP/plain.jsonl" || fail "plain result"
cmp -s "$TMP/want.jsonl" "$TMP/plain.jsonl" || fail "untraced answers differ"
expect_fail() { # expect_fail WHY CMD...: CMD fails saying WHY
    local why=$1
    shift
    if "$@" >"$TMP/out.txt" 2>&1; then fail "accepted: $*"; fi
    grep -q -- "$why" "$TMP/out.txt" || fail "want '$why', got: $(cat "$TMP/out.txt")"
}
expect_fail "has no trace (it was submitted without one)" \
    "$IAMP" result --addr "$ADDR" "$PLAIN" --trace "$TMP/none.trace"
[ ! -e "$TMP/none.trace" ] || fail "a trace file was left for a job without one"

# Refusals, with the reason.
expect_fail "trace is for answer jobs; eval jobs" \
    "$IAMP" submit --addr "$ADDR" --kind eval --wait --trace "$TMP/x.trace"
expect_fail "trace is for answer jobs; train jobs" \
    "$IAMP" submit --addr "$ADDR" --kind train --rounds 1 --wait --trace "$TMP/x.trace"
expect_fail "--trace needs --wait" "$IAMP" submit --addr "$ADDR" --trace "$TMP/x.trace" "$TMP/q.txt"

# The Python client: the same trees, node by node.
PYTHONPATH=$HERE/../../python "$PY" "$HERE/serve_trace.py" "$ADDR" "$TMP/want.trace" ||
    fail "python client traces"

# kill -9 and restart: the trace comes back as it was.
kill -9 "$SERVER"
wait "$SERVER" 2>/dev/null
SERVER=
start_server "$TMP/data"
"$IAMP" result --addr "$ADDR" "$TRACED" --trace "$TMP/again.trace" >"$TMP/again.jsonl" ||
    fail "result --trace after the restart"
cmp -s "$TMP/want.trace" "$TMP/again.trace" || fail "the trace changed across kill -9"
cmp -s "$TMP/want.jsonl" "$TMP/again.jsonl" || fail "the answers changed across kill -9"
stop_server

# A frame too small for a traced tree of that depth: refused at submission.
start_server "$TMP/data" --max-frame-bytes 65536
expect_fail "one result page carries at most" \
    "$IAMP" submit --addr "$ADDR" --depth 6 --wait --trace "$TMP/x.trace" "$TMP/q.txt"
stop_server

# Questions on facts: the records name their context and facts, as
# iamp answer --trace writes them (an untrained model, the same seed).
C=permpow:n=8,context=1
{
    echo 'facts: 0 1, 1 2, 2 3, 3 4, 4 5, 5 6, 6 7, 7 0'
    echo 'pow x=0 k=5'
    echo 'pow x=3 k=7'
    echo 'facts: 0 7, 7 6, 6 5, 5 4, 4 3, 3 2, 2 1, 1 0'
    echo 'pow x=2 k=6'
} >"$TMP/f.txt"
"$IAMP" answer --task $C --depth 2 --trace "$TMP/fwant.trace" "$TMP/f.txt" >/dev/null 2>&1 ||
    fail "facts: iamp answer --trace"
mkdir "$TMP/facts"
start_server "$TMP/facts" --task $C
"$IAMP" submit --addr "$ADDR" --depth 2 --wait --trace "$TMP/fgot.trace" "$TMP/f.txt" \
    >/dev/null 2>"$TMP/err.txt" || fail "facts: submit --trace: $(cat "$TMP/err.txt")"
cmp -s "$TMP/fwant.trace" "$TMP/fgot.trace" || fail "facts: the trace differs"
grep -q '^{"question":"pow x=2 k=6","context":2,"facts":"0 7, 7 6' "$TMP/fgot.trace" ||
    fail "facts: a record does not name its facts"
stop_server
echo "service traces equal iamp answer --trace ($nodes nodes), survive kill -9, refused where they cannot be"
