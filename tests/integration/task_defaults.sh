# One set of task defaults: a graph model made by `iamp serve --task` and
# trained by a train job is the model `iamp train --task` makes with the
# same options (graph's own defaults: the pair slot, hidden 256, depth 3,
# ...): the same checkpoint, wall-clock fields aside. An eval job without
# eval_size measures the task's own held-out set, as `iamp eval` does.
source "$(dirname "$0")/lib.sh.inc" "$@"
TASK=graph:v=32,edges=64,seed=2
params_bytes() { "$DIGEST" --fields "$1" | sed -n 's/.*field 5, \([0-9]*\) bytes/\1/p'; }

"$IAMP" train --task $TASK --algo imitate --rounds 1 --questions 64 --checkpoint-dir "$TMP/a" \
    --quiet >/dev/null || fail "train"
"$IAMP" train --task $TASK --algo imitate --rounds 1 --questions 64 --no-pair-slot \
    --checkpoint-dir "$TMP/plain" --quiet >/dev/null || fail "train --no-pair-slot"
[ "$(params_bytes "$TMP/a/checkpoint.pb")" -gt "$(params_bytes "$TMP/plain/checkpoint.pb")" ] ||
    fail "iamp train --task graph has no pair slot"

start_server "$TMP/b" --task $TASK --quiet
"$IAMP" submit --addr "$ADDR" --kind train --algo imitate --rounds 1 --questions 64 --wait \
    >/dev/null || fail "train job"
"$IAMP" submit --addr "$ADDR" --kind eval --wait >"$TMP/eval.json" || fail "eval job"
stop_server

a=$("$DIGEST" "$TMP/a/checkpoint.pb" | cut -c1-64)
b=$("$DIGEST" "$TMP/b/checkpoint.pb" | cut -c1-64)
[ -n "$a" ] && [ "$a" = "$b" ] ||
    fail "serve --task and train --task made different models ($(params_bytes "$TMP/b/checkpoint.pb") vs $(params_bytes "$TMP/a/checkpoint.pb") parameter bytes)"
want=$("$IAMP" eval --checkpoint "$TMP/b/checkpoint.pb" --json | sed 's/.*"questions":\([0-9]*\).*/\1/')
got=$(sed 's/.*"total":\([0-9]*\).*/\1/' "$TMP/eval.json")
[ "$got" = "$want" ] || fail "eval job measured $got questions, iamp eval $want"
echo "graph: serve --task and train --task make the same model $a; eval job on $got questions; ok"
