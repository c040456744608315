# A task whose questions carry facts, end to end: train a small transformer
# on permpow:context=1, serve it, submit questions on two instances given
# as 'facts:' blocks; the answers equal `iamp answer` on the same input and
# name their block and its facts; a job is refused with a reason when its
# facts are not a permutation, when a question asks about an element its
# facts lack, or when it has facts for a task that takes none.
source "$(dirname "$0")/lib.sh.inc" "$@"
TASK=permpow:n=10,context=1
MODEL=transformer:d=16,heads=2,enc=1,dec=1
"$IAMP" train --task $TASK --model $MODEL --algo imitate --rounds 4 --questions 64 \
    --eval-size 64 --checkpoint-dir "$TMP/data" --quiet >/dev/null || fail "training the model"
start_server "$TMP/data"
cat >"$TMP/q.txt" <<'Q'
facts: 0 3, 3 1, 1 0, 2 2
pow x=0 k=1
pow x=0 k=2
pow x=3 k=5
facts: 5 6, 6 7, 7 5
pow x=5 k=1
pow x=7 k=3
Q
"$IAMP" submit --addr "$ADDR" --depth 1 --wait "$TMP/q.txt" >"$TMP/got.jsonl" 2>"$TMP/err.txt" ||
    fail "submit: $(cat "$TMP/err.txt")"
"$IAMP" answer --checkpoint "$TMP/data/checkpoint.pb" --depth 1 "$TMP/q.txt" >"$TMP/want.jsonl" ||
    fail "iamp answer"
cmp -s "$TMP/want.jsonl" "$TMP/got.jsonl" || {
    diff "$TMP/want.jsonl" "$TMP/got.jsonl" | head -5
    fail "the served answers differ from iamp answer"
}
[ "$(wc -l <"$TMP/got.jsonl")" -eq 5 ] || fail "want 5 answers"
grep -q '"question":"pow x=7 k=3","context":2,"facts":"5 6, 6 7, 7 5"' "$TMP/got.jsonl" ||
    fail "an answer does not name its facts: $(cat "$TMP/got.jsonl")"
# H answers k = 1 by reading the fact: at depth 1 those are exact.
grep -q '"question":"pow x=0 k=1","context":1,"facts":"0 3, 3 1, 1 0, 2 2","answer":"3"' \
    "$TMP/got.jsonl" || fail "k = 1 at depth 1 is H's lookup: $(head -1 "$TMP/got.jsonl")"

refused() { # refused WHY FILE: submit fails, saying WHY
    if "$IAMP" submit --addr "$ADDR" --wait "$2" >"$TMP/out.txt" 2>&1; then
        fail "accepted: $(cat "$2")"
    fi
    grep -q "$1" "$TMP/out.txt" || fail "want '$1', got: $(cat "$TMP/out.txt")"
}
printf 'facts: 0 3, 3 3\npow x=0 k=1\n' >"$TMP/bad1.txt"
refused "context 1: the facts are not a permutation" "$TMP/bad1.txt"
printf 'facts: 0 3, 3 0\npow x=5 k=1\n' >"$TMP/bad2.txt"
refused "question 1: 'pow x=5 k=1' is not a question on context 1's facts" "$TMP/bad2.txt"
printf 'pow x=1 k=1\n' >"$TMP/bad3.txt"
refused "question 1 names no context" "$TMP/bad3.txt"
printf 'facts: 0 3, 3 x\npow x=0 k=1\n' >"$TMP/bad4.txt"
if "$IAMP" submit --addr "$ADDR" "$TMP/bad4.txt" >"$TMP/out.txt" 2>&1; then fail "bad facts line sent"; fi
grep -q "bad4.txt line 1: fact 2: 'x' is not a token" "$TMP/out.txt" || fail "$(cat "$TMP/out.txt")"
stop_server
# A task without facts refuses them.
"$IAMP" train --task permpow:n=8,kmax=7 --algo imitate --rounds 2 --questions 32 --eval-size 32 \
    --checkpoint-dir "$TMP/plain" --quiet >/dev/null || fail "training the plain model"
start_server "$TMP/plain"
printf 'facts: 0 1, 1 0\npow x=0 k=1\n' >"$TMP/bad5.txt"
refused "takes no facts" "$TMP/bad5.txt"
stop_server
echo "facts through the service: answers equal iamp answer; bad facts refused with reasons"

