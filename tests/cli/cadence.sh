# Evaluation cadence and the profile: without --eval-every a run evaluates
# by its budget (--eval-budget 1 every round; a tiny budget the first and
# the last round only), --eval-every N every N rounds and the last;
# --profile ends with one line naming every phase, shares adding to about
# 100%. A one-hot model (--embed 0, permpow's default) trains, resumes,
# answers and evaluates from its checkpoint.
source "$(dirname "$0")/lib.sh.inc"
T=permpow:n=8,kmax=7
evaluated() { grep -v '"accuracy":null' "$1" | sed 's/{"round":\([0-9]*\),.*/\1/' | tr '\n' ' '; }
run() { # metrics-file, options...
    local m=$1
    shift
    "$IAMP" train --task $T --algo imitate --rounds 12 --questions 32 --eval-size 56 --hidden 16 \
        --metrics "$m" "$@" >"$TMP/out.txt" || fail "train $*"
}
run "$TMP/all.jsonl" --quiet --eval-budget 1
[ "$(evaluated "$TMP/all.jsonl")" = "1 2 3 4 5 6 7 8 9 10 11 12 " ] ||
    fail "--eval-budget 1: evaluated $(evaluated "$TMP/all.jsonl")"
run "$TMP/few.jsonl" --quiet --eval-budget 0.001
[ "$(evaluated "$TMP/few.jsonl")" = "1 12 " ] ||
    fail "--eval-budget 0.001: evaluated $(evaluated "$TMP/few.jsonl")"
run "$TMP/five.jsonl" --quiet --eval-every 5
[ "$(evaluated "$TMP/five.jsonl")" = "5 10 12 " ] ||
    fail "--eval-every 5: evaluated $(evaluated "$TMP/five.jsonl")"
run "$TMP/p.jsonl" --quiet --profile
prof=$(grep '^profile:' "$TMP/out.txt") || fail "no profile line: $(cat "$TMP/out.txt")"
for phase in sample answer targets fit measure evaluate save; do
    echo "$prof" | grep -q " $phase [0-9.]*s ([0-9]*%)" || fail "profile lacks $phase: $prof"
done
sum=$(echo "$prof" | grep -o '([0-9]*%)' | tr -dc '0-9\n' | awk '{ s += $1 } END { print s }')
[ "$sum" -ge 97 ] && [ "$sum" -le 103 ] || fail "profile shares add to $sum%: $prof"
grep -q "trains with (unless given): --embed 0" <("$IAMP" train --task $T --algo imitate \
    --rounds 1 --questions 16 --eval-size 16) || fail "permpow's defaults are not announced"
"$IAMP" train --task $T --algo imitate --rounds 3 --questions 32 --eval-size 56 \
    --checkpoint-dir "$TMP/oh" --quiet >/dev/null || fail "one-hot run"
"$IAMP" train --checkpoint-dir "$TMP/oh" --resume --rounds 5 --quiet >/dev/null ||
    fail "one-hot resume"
echo 'pow x=3 k=5' | "$IAMP" answer --checkpoint "$TMP/oh/checkpoint.pb" | grep -q '"answer"' ||
    fail "one-hot answer"
"$IAMP" eval --checkpoint "$TMP/oh/checkpoint.pb" --json | grep -q '"accuracy":' ||
    fail "one-hot eval"
finish
