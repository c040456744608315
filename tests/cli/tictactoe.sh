# tictactoe through the command line: questions of all three types answer
# in their text forms, a bad board fails the command with its line, and a
# short RL run writes the RL metrics (approval, reward, entropy, kl,
# value_error, accuracy_<type>).
source "$(dirname "$0")/lib.sh.inc"
printf 'value board=XX.OO....\naction board=XX.OO....\napprove board=XX.OO.... move=2\nvalue board=XXXOO....\n' \
    >"$TMP/q.txt"
"$IAMP" answer --task tictactoe --depth 1 "$TMP/q.txt" >"$TMP/a.jsonl" 2>/dev/null ||
    fail "answer tictactoe"
[ "$(wc -l <"$TMP/a.jsonl")" -eq 4 ] || fail "want 4 answers: $(cat "$TMP/a.jsonl")"
# H answers action by its rule (win at once) and a finished board by the rules.
grep -q '"question":"action board=XX.OO....","answer":"2","depth":1' "$TMP/a.jsonl" ||
    fail "action by H's rule: $(cat "$TMP/a.jsonl")"
grep -q '"question":"value board=XXXOO....","answer":"-1"' "$TMP/a.jsonl" ||
    fail "finished board: $(cat "$TMP/a.jsonl")"
grep -q '"question":"approve board=XX.OO.... move=2","answer":"\(0\|0.5\|1\)"' "$TMP/a.jsonl" ||
    fail "approve answer: $(cat "$TMP/a.jsonl")"
printf 'value board=XX.OO....\naction board=XXXOO....\n' >"$TMP/bad.txt"
expect_error 1 "bad.txt line 2" -- "$IAMP" answer --task tictactoe "$TMP/bad.txt"
expect_error 1 "is over" -- "$IAMP" answer --task tictactoe "$TMP/bad.txt"
"$IAMP" train --task tictactoe --algo mixed --warmup 2 --rounds 4 --questions 32 --eval-size 30 \
    --hidden 32 --eval-every 2 --metrics "$TMP/m.jsonl" --quiet >"$TMP/out.txt" ||
    fail "mixed run: $(cat "$TMP/out.txt")"
grep -q "algo value=imitate,action=mixed,approve=imitate" "$TMP/out.txt" ||
    fail "summary names the modes per type: $(cat "$TMP/out.txt")"
last=$(tail -1 "$TMP/m.jsonl")
for f in accuracy_value accuracy_action accuracy_approve approval reward entropy kl value_error; do
    echo "$last" | grep -q "\"$f\":[0-9.e-]" || fail "metrics lack a number for $f: $last"
done
first=$(head -1 "$TMP/m.jsonl")
echo "$first" | grep -q '"reward":null' || fail "no reward during the warm-up: $first"
finish
