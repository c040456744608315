# iamp train --demonstrations FILE: M imitates a file of answers. Correct
# answers (from iamp answer at a depth where H alone is exact) raise
# held-out accuracy far above an untrained model's; a file on facts
# (permpow:context=1, its answers computed here) loads and trains; a
# resumed run ends with the uninterrupted run's checkpoint; every bad
# file is refused with one line naming FILE:LINE, exit 2, nothing written.
source "$(dirname "$0")/lib.sh.inc"
DIGEST=$(dirname "$0")/../../scripts/checkpoint-digest
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
TASK=permpow:n=16,kmax=15

# --- correct answers: depth 4 decomposes every k <= 15 down to H's own
# k = 1 lookups, so M's (untrained) answers never reach the root; depth 5
# giving the same answers checks that.
for x in $(seq 0 15); do for k in $(seq 1 15); do echo "pow x=$x k=$k"; done; done >"$TMP/q.txt"
"$IAMP" answer --task $TASK --depth 4 "$TMP/q.txt" 2>/dev/null >"$TMP/a4.jsonl" || fail "answer"
"$IAMP" answer --task $TASK --depth 5 "$TMP/q.txt" 2>/dev/null >"$TMP/a5.jsonl" || fail "answer"
cmp -s <(sed 's/"depth":4//' "$TMP/a4.jsonl") <(sed 's/"depth":5//' "$TMP/a5.jsonl") ||
    fail "depth 4 answers are not H's exact ones"
# Three quarters of the 240 questions, in a shuffled order, as a person's
# overseer writes them (with steps, and a key iamp does not know).
"$PY" - "$TMP/a4.jsonl" "$TMP/demos.jsonl" <<'EOF'
import json, random, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
random.Random(1).shuffle(rows)
with open(sys.argv[2], "w") as f:
    for r in rows[:180]:
        f.write(json.dumps({"question": r["question"], "answer": [int(r["answer"])],
                            "steps": [{"asks": ["pow x=0 k=1"], "answers": [[3]]}],
                            "by": "test"}) + "\n")
EOF
accuracy() { sed -n 's/^done: .* held-out accuracy \([0-9.]*\),.*/\1/p' "$1"; }
"$IAMP" train --task $TASK --demonstrations "$TMP/demos.jsonl" --rounds 0 --seed 2 \
    >"$TMP/untrained.out" 2>&1 || fail "untrained run: $(cat "$TMP/untrained.out")"
"$IAMP" train --task $TASK --demonstrations "$TMP/demos.jsonl" --rounds 100 --seed 2 \
    --metrics "$TMP/m.jsonl" >"$TMP/trained.out" 2>&1 || fail "trained run: $(cat "$TMP/trained.out")"
before=$(accuracy "$TMP/untrained.out")
after=$(accuracy "$TMP/trained.out")
echo "held-out accuracy: untrained $before, after 100 rounds on 180 demonstrations $after"
"$PY" -c "import sys; sys.exit(not (float('$before') < 0.2 and float('$after') > 0.6))" ||
    fail "accuracy $before -> $after, want < 0.2 -> > 0.6"
grep -q "^demonstrations $TMP/demos.jsonl: 180, 0 distinct facts, crc32c [0-9a-f]\{8\}; 180 a round$" \
    "$TMP/trained.out" || fail "no demonstrations line: $(head -3 "$TMP/trained.out")"
[ "$(wc -l <"$TMP/m.jsonl")" -eq 100 ] || fail "want 100 metrics rows"
grep -q '"round":100,"examples":18000,' "$TMP/m.jsonl" || fail "180 examples a round"

# --- a resumed run takes the uninterrupted run's examples: 64 a round of
# 180 (rounds straddle passes over the file), cut after round 4.
"$IAMP" train --task $TASK --demonstrations "$TMP/demos.jsonl" --questions 64 --rounds 8 \
    --checkpoint-every 4 --checkpoint-dir "$TMP/straight" --quiet >/dev/null || fail "straight"
"$IAMP" train --task $TASK --demonstrations "$TMP/demos.jsonl" --questions 64 --rounds 4 \
    --checkpoint-every 4 --checkpoint-dir "$TMP/cut" --quiet >/dev/null || fail "cut"
"$IAMP" train --resume --demonstrations "$TMP/demos.jsonl" --rounds 8 --checkpoint-every 4 \
    --checkpoint-dir "$TMP/cut" --quiet >/dev/null || fail "resumed"
a=$("$DIGEST" "$TMP/straight/checkpoint.pb" | cut -d' ' -f1)
b=$("$DIGEST" "$TMP/cut/checkpoint.pb" | cut -d' ' -f1)
[ -n "$a" ] && [ "$a" = "$b" ] || fail "resumed run's checkpoint differs ($a, $b)"
# Without the file, the resumed run goes on with IA from the imitating M.
"$IAMP" train --resume --rounds 10 --checkpoint-dir "$TMP/cut" >"$TMP/ia.out" 2>&1 ||
    fail "IA after demonstrations: $(cat "$TMP/ia.out")"
grep -q "^demonstrations" "$TMP/ia.out" && fail "IA run reads demonstrations"

# --- facts: random permutations of 9..16 elements, a few questions on
# each, answers computed here; half the lines leave out the word facts:.
"$PY" - "$TMP/facts.jsonl" <<'EOF'
import json, random, sys
rng = random.Random(3)
with open(sys.argv[1], "w") as f:
    for i in range(40):
        m = rng.randint(9, 16)
        sigma = list(range(m))
        rng.shuffle(sigma)
        facts = ", ".join("%d %d" % (x, sigma[x]) for x in range(m))
        for _ in range(4):
            x, k = rng.randrange(m), rng.randint(1, min(15, m - 1))
            y = x
            for _ in range(k):
                y = sigma[y]
            f.write(json.dumps({"question": "pow x=%d k=%d" % (x, k),
                                "facts": ("facts: " if i % 2 else "") + facts,
                                "answer": [y]}) + "\n")
EOF
"$IAMP" train --task permpow:context=1 --demonstrations "$TMP/facts.jsonl" --rounds 4 \
    --questions 32 --eval-size 64 --checkpoint-dir "$TMP/facts" >"$TMP/facts.out" 2>&1 ||
    fail "facts run: $(cat "$TMP/facts.out")"
grep -q "^demonstrations .*: 160, 40 distinct facts, crc32c [0-9a-f]*; 32 a round$" \
    "$TMP/facts.out" || fail "facts demonstrations line: $(cat "$TMP/facts.out")"
grep -q "^done: .* round 4, examples 128," "$TMP/facts.out" || fail "facts: $(cat "$TMP/facts.out")"
[ -s "$TMP/facts/checkpoint.pb" ] || fail "facts: no checkpoint"

# --- bad files: exit 2, one line "iamp: train: FILE:LINE: why", and
# neither the checkpoint directory nor the metrics file is created.
good='{"question": "pow x=1 k=2", "answer": [3]}'
bad_file() { # NAME TASK NEEDLE LINES...
    local name=$1 task=$2 needle=$3
    shift 3
    printf '%s\n' "$@" >"$TMP/$name.jsonl"
    expect_error 2 "train: $TMP/$name.jsonl$needle" -- "$IAMP" train --task "$task" \
        --demonstrations "$TMP/$name.jsonl" --checkpoint-dir "$TMP/nothing" \
        --metrics "$TMP/nothing.jsonl"
    [ ! -e "$TMP/nothing" ] && [ ! -e "$TMP/nothing.jsonl" ] || fail "$name: wrote something"
}
bad_file json permpow ":2: not a JSON object: byte 2" "$good" '{nope' "$good"
bad_file unknown permpow ":3: question 'pow x=1 k=99'" "$good" "" \
    '{"question": "pow x=1 k=99", "answer": [3]}'
bad_file syntax permpow ":1: question 'hello'" '{"question": "hello", "answer": [3]}'
bad_file space permpow ":2: the answer is outside the question's answer space" "$good" \
    '{"question": "pow x=1 k=2", "answer": [3, 4]}'
bad_file token permpow ":1: an answer token is out of range" \
    '{"question": "pow x=1 k=2", "answer": [99999]}'
bad_file noanswer permpow ':1: no "answer"' '{"question": "pow x=1 k=2"}'
bad_file nofacts permpow:context=1 ':1: task permpow:n=16,kmax=15,context=1 asks every question on facts: no "facts"' \
    '{"question": "pow x=1 k=2", "answer": [3]}'
bad_file notfacts permpow ":1: task permpow:n=64,seed=1,kmax=63 takes no facts" \
    '{"question": "pow x=1 k=2", "facts": "0 1, 1 0", "answer": [3]}'
bad_file misfit permpow:context=1 ":2: facts: the facts are not a permutation" \
    '{"question": "pow x=1 k=1", "facts": "0 1, 1 0", "answer": [0]}' \
    '{"question": "pow x=1 k=1", "facts": "0 1, 1 1", "answer": [1]}'
bad_file offfacts permpow:context=1 ":1: the question is not one on these facts" \
    '{"question": "pow x=5 k=1", "facts": "0 1, 1 0", "answer": [0]}'
bad_file empty permpow ": no demonstrations in it"
printf '%s\n' "$good" >"$TMP/long.jsonl"
head -c 70000 /dev/zero | tr '\0' a >>"$TMP/long.jsonl"
expect_error 2 "train: $TMP/long.jsonl:2: line longer than 65536 bytes" -- "$IAMP" train \
    --task permpow --demonstrations "$TMP/long.jsonl"
printf '%s\n' "$good" >"$TMP/one.jsonl"
expect_error 2 "need algo imitate" -- "$IAMP" train --task permpow:approve=1 --algo search \
    --demonstrations "$TMP/one.jsonl" --checkpoint-dir "$TMP/nothing"
[ ! -e "$TMP/nothing" ] || fail "--algo search: wrote a checkpoint directory"
expect_error 1 "train: $TMP/missing.jsonl: cannot open" -- "$IAMP" train --task permpow \
    --demonstrations "$TMP/missing.jsonl"
finish
