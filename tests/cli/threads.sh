# --threads: the same seed gives bit-identical parameters (checkpoint
# digests), the same metrics row by row and the same answers with 1, 2
# and 3 threads — for imitation with fit shards (a minibatch of 256
# questions is four shards) and forward blocks (rounds of 400 questions),
# the RL modes (sampled answers, value baselines, the KL term to p_ref),
# token sequences and continuous answers. --threads outside [1, 256] is a
# usage error. (Evaluation is pinned to every 2 rounds: by budget its
# rounds follow the wall clock.)
source "$(dirname "$0")/lib.sh.inc"
DIGEST=$(dirname "$0")/../../scripts/checkpoint-digest
strip() { sed -E 's/,"(round_)?seconds":[0-9.e+-]+//g' "$1"; }
check() { # name, train options...
    local name=$1
    shift
    for t in 1 2 3; do
        "$IAMP" train --eval-every 2 "$@" --threads $t --checkpoint-dir "$TMP/$name.$t" \
            --metrics "$TMP/$name.$t.jsonl" --quiet >"$TMP/$name.$t.out" ||
            fail "$name --threads $t: $(cat "$TMP/$name.$t.out")"
    done
    local want
    want=$("$DIGEST" "$TMP/$name.1/checkpoint.pb" | cut -d' ' -f1)
    [ -n "$want" ] || fail "$name: no checkpoint digest"
    for t in 2 3; do
        [ "$("$DIGEST" "$TMP/$name.$t/checkpoint.pb" | cut -d' ' -f1)" = "$want" ] ||
            fail "$name: --threads $t reached other parameters than --threads 1"
        cmp -s <(strip "$TMP/$name.1.jsonl") <(strip "$TMP/$name.$t.jsonl") ||
            fail "$name: --threads $t metrics differ from --threads 1"
    done
    echo "$name: $(sed 's/, [0-9.]*s;.*//' "$TMP/$name.1.out")"
}
check permpow --task permpow:n=32,kmax=31 --algo imitate --rounds 12 --questions 400 --batch 256 \
    --eval-every 4
check search --task tictactoe --algo search --rounds 6 --warmup 2 --questions 160 --batch 128 \
    --eval-size 200
check mixed --task tictactoe --algo mixed --rounds 6 --warmup 2 --questions 160 --batch 128 \
    --eval-size 200
check trajectory --task trajectory:n=16,lmax=8 --algo reinforce --rounds 6 --warmup 2 \
    --questions 160 --batch 128 --eval-size 64 --hidden 64
check markov --task markov:s=4,kmax=8 --algo mixed --rounds 6 --warmup 2 --questions 160 \
    --batch 128 --eval-size 64 --hidden 64
# Answers from a checkpoint, amplified, on several threads: the same lines.
for i in $(seq 1 300); do echo "pow x=$((i % 32)) k=$((1 + i % 31))"; done >"$TMP/q.txt"
for t in 1 3; do
    "$IAMP" answer --checkpoint "$TMP/permpow.1/checkpoint.pb" --depth 1 --threads $t \
        <"$TMP/q.txt" >"$TMP/answers.$t" || fail "answer --threads $t"
done
[ "$(wc -l <"$TMP/answers.1")" -eq 300 ] || fail "answer: $(wc -l <"$TMP/answers.1") lines"
cmp -s "$TMP/answers.1" "$TMP/answers.3" || fail "answer --threads 3 differs from --threads 1"
expect_error 2 "--threads" -- "$IAMP" train --task permpow --threads 0
expect_error 2 "--threads" -- "$IAMP" train --task permpow --threads 257
finish
