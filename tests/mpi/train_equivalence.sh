# Training under mpirun at N = 2, 3, 4 reaches the same held-out accuracy as
# N = 1, with the cross-rank parameter checksum compared every round; two
# runs with the same N and seed give bit-identical models; the RL modes and
# the answer domains (sequences, continuous answers) give N = 1's result.
source "$(dirname "$0")/lib.sh.inc"
T=permpow:n=16,kmax=15,seed=3
args="train --task $T --algo imitate --rounds 40 --questions 96 --batch 32 --eval-size 240 --quiet"
run_np 1 $args --checkpoint-dir "$TMP/n1" >"$TMP/n1.txt" || fail "N=1 run"
acc1=$(sed 's/.*held-out accuracy \([0-9.]*\).*/\1/' "$TMP/n1.txt")
for np in 2 3 4; do
    run_np $np $args --check-params --checkpoint-dir "$TMP/n$np" >"$TMP/n$np.txt" ||
        fail "N=$np run: $(cat "$TMP/n$np.txt")"
    acc=$(sed 's/.*held-out accuracy \([0-9.]*\).*/\1/' "$TMP/n$np.txt")
    echo "N=$np accuracy $acc (N=1: $acc1)"
    awk -v a="$acc" -v b="$acc1" 'BEGIN { d = a - b; exit !(d < 0.02 && d > -0.02) }' ||
        fail "N=$np accuracy $acc differs from N=1's $acc1"
done
awk -v a="$acc1" 'BEGIN { exit !(a > 0.5) }' || fail "the runs did not learn ($acc1)"
run_np 3 $args --check-params --checkpoint-dir "$TMP/n3b" >/dev/null || fail "second N=3 run"
a=$("$IAMP" eval --checkpoint "$TMP/n3/checkpoint.pb" --json)
b=$("$IAMP" eval --checkpoint "$TMP/n3b/checkpoint.pb" --json)
echo "$a" | grep -q '"params_fnv"' || fail "eval --json has no params_fnv: $a"
[ "$a" = "$b" ] || fail "two N=3 runs differ: $a vs $b"
# same_as_one NAME ARGS...: `iamp ARGS` at N = 3 (parameters compared
# across ranks every round) ends as N = 1 does, up to the wall time.
same_as_one() {
    local name=$1 one three
    shift
    one=$(run_np 1 "$@") || fail "$name N=1"
    three=$(run_np 3 "$@" --check-params) || fail "$name N=3"
    [ "${one%%, [0-9.]*s;*}" = "${three%%, [0-9.]*s;*}" ] ||
        fail "$name: N=3 ($three) differs from N=1 ($one)"
    echo "$name: $three"
}
# The RL modes too: sampled answers, amplified approvals, value baselines
# and the KL term to p_ref give N = 1's run exactly.
for algo in search mixed; do
    same_as_one "tictactoe $algo" train --task tictactoe --algo $algo --rounds 6 --warmup 2 \
        --questions 64 --eval-size 200 --quiet
done
# The answer domains: token sequences with per-prefix baselines (trajectory
# reinforce after an imitation warm-up) and continuous answers (markov mixed:
# samples, log-densities, KL between logistic-normals) and graph with the
# pair slot at depth 3 give N = 1's run too.
for run in "trajectory:n=16,lmax=8 reinforce" "markov:s=4,kmax=8 mixed" \
    "graph:v=24 imitate --pair-slot --depth 3"; do
    set -- $run
    same_as_one "$1 $2" train --task $1 --algo $2 "${@:3}" --rounds 6 --warmup 2 --questions 64 \
        --eval-size 64 --hidden 64 --quiet
done
# Questions that carry facts, read by a transformer: work units and train
# batches ship each instance once; imitation and mixed (approval questions
# on the same instance, samples, p_ref) give N = 1's run, and so does one
# of the paper's other tasks (union find: three question types, trees of
# facts).
small="--model transformer:d=16,heads=2,enc=1,dec=1 --rounds 5 --questions 64 --batch 32"
for algo in imitate mixed; do
    same_as_one "permpow context $algo" train --task permpow:n=12,context=1,approve=1 $small \
        --algo $algo --warmup 2 --eval-size 64 --quiet
done
same_as_one "unionfind imitate" train --task unionfind:n=10 $small --algo imitate --eval-size 64 --quiet
# Overseer errors (drawn on rank 0, seeded per round): replaced targets on
# instances with facts, replaced approvals in search.
same_as_one "permpow context imitate overseer-error" train --task permpow:n=12,context=1 $small \
    --algo imitate --overseer-error 0.2 --eval-size 64 --quiet
same_as_one "tictactoe search overseer-error" train --task tictactoe --algo search --rounds 6 \
    --warmup 2 --questions 64 --eval-size 200 --overseer-error 0.2 --quiet
# A learned overseer H' (--overseer learned): rank 0 runs every episode,
# H's and H''s, in one process's order, trains H' there and ships only M's
# leaves, so N = 3's metrics equal N = 1's row for row (H calls, H''s loss
# and accuracies, M's loss, evaluations through Amp(H', M)), clocks aside.
hp="train --task permpow:n=8,context=1,kmax=3 --model transformer:d=16,heads=2,enc=1,dec=1
    --rounds 12 --questions 64 --batch 32 --algo imitate --eval-size 64 --eval-every 3
    --no-curriculum --overseer learned --overseer-first 30
    --overseer-model transformer:d=16,heads=2,enc=1,dec=1,pointer=2 --quiet"
run_np 1 $hp --metrics "$TMP/hp1.jsonl" >/dev/null || fail "H' N=1"
run_np 3 $hp --check-params --metrics "$TMP/hp3.jsonl" >"$TMP/hp3.txt" ||
    fail "H' N=3: $(cat "$TMP/hp3.txt")"
/usr/bin/python3 - "$TMP/hp1.jsonl" "$TMP/hp3.jsonl" <<'PY' || fail "H' under N=3 differs from N=1"
import json, sys
rows = [[json.loads(l) for l in open(f)] for f in sys.argv[1:]]
clock = lambda k: "second" in k or k.endswith("_s")
strip = lambda r: {k: v for k, v in r.items() if not clock(k)}
one, three = ([strip(r) for r in rs] for rs in rows)
assert len(one) == 12 and one[-1]["h_calls"] > 30 and one[-1]["hprime_episodes"] > 0, one[-1]
for a, b in zip(one, three):
    assert a == b, {k: (a.get(k), b.get(k)) for k in set(a) | set(b) if a.get(k) != b.get(k)}
print("H' N=3: %d rows equal N=1's, h_calls %d" % (len(three), three[-1]["h_calls"]))
PY
# H in another process (--task remote:...): every rank connects to the
# overseer (permpow:context=1's H in tests/integration/overseer_faults.py)
# and N = 3 gives N = 1's run.
if /usr/bin/python3 -c 'import google.protobuf' 2>/dev/null; then
    /usr/bin/python3 "$(dirname "$0")/../integration/overseer_faults.py" --serve none 1 \
        "$TMP/ov.port" &
    OV=$!
    for _ in $(seq 400); do [ -s "$TMP/ov.port" ] && break; sleep 0.05; done
    same_as_one "remote permpow imitate" train --task "remote:addr=127.0.0.1:$(cat "$TMP/ov.port")" \
        $small --algo imitate --eval-size 64 --quiet
    kill $OV
fi
finish
