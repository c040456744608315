# --overseer-error P (issue 13): outside [0, 1) a usage error naming it;
# P = 0 trains the same parameters and metrics as no flag (checkpoint
# digests); P = 0.3 trains others, says so at the start and in the summary,
# is kept by the checkpoint (a resumed run without the flag still has it)
# and resumes exactly (its draws are seeded per round). Every evaluated
# metrics row has accuracy_by_depth and amplified_accuracy_by_depth, an
# object per depth of the held-out set (permpow:n=16,kmax=15: 0..3), null
# when not evaluated, and none for graph, whose H alone outgrows the caps
# (a first step asks every neighbour's distance, unreachable pairs never
# end); the progress
# line shows M's figures by depth.
source "$(dirname "$0")/lib.sh.inc"
DIGEST=$(dirname "$0")/../../scripts/checkpoint-digest
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
digest() { "$DIGEST" "$1/checkpoint.pb" | cut -d' ' -f1; }
strip() { sed -E 's/,"(round_)?seconds":[0-9.e+-]+//g' "$1"; }

for p in 1 1.5 -0.1 abc 0.99999999; do
    expect_error 2 "--overseer-error" -- "$IAMP" train --task permpow --algo imitate \
        --overseer-error "$p"
done
expect_error 2 "out of range [0, 1)" -- "$IAMP" train --task permpow --algo imitate \
    --overseer-error 1
"$IAMP" train --help | grep -q -- "--overseer-error P" || fail "--help lacks --overseer-error"

common="--task permpow:n=16,kmax=15 --algo imitate --questions 64 --eval-size 64 --threads 1"
run() { # name, options...
    local name=$1
    shift
    "$IAMP" train $common --checkpoint-dir "$TMP/$name" --metrics "$TMP/$name.jsonl" "$@" \
        >"$TMP/$name.out" || fail "$name: $(cat "$TMP/$name.out")"
}
run none --rounds 6 --eval-every 2 --quiet
run zero --rounds 6 --eval-every 2 --quiet --overseer-error 0
[ -n "$(digest "$TMP/none")" ] || fail "no checkpoint digest"
[ "$(digest "$TMP/none")" = "$(digest "$TMP/zero")" ] || fail "P = 0 trained other parameters"
cmp -s <(strip "$TMP/none.jsonl") <(strip "$TMP/zero.jsonl") || fail "P = 0 metrics differ"
summary() { sed 's/, [0-9.]*s;.*//' "$1"; } # the final line, its wall time cut
[ "$(summary "$TMP/none.out")" = "$(summary "$TMP/zero.out")" ] ||
    fail "P = 0 summary differs: $(cat "$TMP/zero.out")"

run p3 --rounds 6 --eval-every 2 --log-every 2 --overseer-error 0.3
[ "$(digest "$TMP/p3")" != "$(digest "$TMP/none")" ] || fail "P = 0.3 changed nothing"
grep -q "^overseer error 0.3: " "$TMP/p3.out" || fail "no setting line: $(head -3 "$TMP/p3.out")"
grep -q "algo imitate overseer-error 0.3: round 6," "$TMP/p3.out" ||
    fail "summary: $(tail -1 "$TMP/p3.out")"
grep -Eq "^round +2 .* depth 0-3 [0-9.]+/[0-9.]+/[0-9.]+/[0-9.]+ " "$TMP/p3.out" ||
    fail "progress line without depths: $(grep '^round' "$TMP/p3.out" | head -2)"

run half --rounds 3 --eval-every 2 --quiet --overseer-error 0.3
"$IAMP" train --rounds 6 --checkpoint-dir "$TMP/half" --resume --metrics "$TMP/half.jsonl" \
    >"$TMP/resumed.out" || fail "resume: $(cat "$TMP/resumed.out")"
grep -q "overseer-error 0.3: round 6," "$TMP/resumed.out" ||
    fail "resume lost the setting: $(tail -1 "$TMP/resumed.out")"
[ "$(digest "$TMP/half")" = "$(digest "$TMP/p3")" ] || fail "P = 0.3 does not resume exactly"

"$IAMP" train --task graph --algo imitate --rounds 1 --questions 16 --eval-every 1 \
    --metrics "$TMP/graph.jsonl" --quiet >/dev/null || fail "graph"

"$PY" - "$TMP/p3.jsonl" "$TMP/graph.jsonl" <<'PY' || fail "metrics rows by depth"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 6, len(rows)
for r in rows:
    for key in ("accuracy_by_depth", "amplified_accuracy_by_depth"):
        v = r[key]
        if r["accuracy"] is None:
            assert v is None, (r["round"], key, v)
            continue
        assert sorted(v) == ["0", "1", "2", "3"], (r["round"], key, v)
        assert all(0.0 <= x <= 1.0 for x in v.values()), v
    if r["accuracy"] is not None:
        # Amp at depth 1 is H alone on questions of depth 0 and 1.
        assert r["amplified_accuracy_by_depth"]["0"] == 1, r
        assert r["amplified_accuracy_by_depth"]["1"] == 1, r
assert sum(r["accuracy"] is not None for r in rows) == 3
for l in open(sys.argv[2]):
    r = json.loads(l)
    assert "accuracy_by_depth" not in r and "amplified_accuracy_by_depth" not in r, r
PY
finish
