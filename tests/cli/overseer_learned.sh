# iamp train --overseer learned: H' (a model of H's transcripts) amplifies
# in place of H, calling H only on its budget. On permpow (a fixed
# instance, curriculum from level 2 so episodes start at once) H' learns
# H's actions on held-out transcript steps, H is called far less than in
# the same run with H (every episode an H call), the run learns, and the
# two runs' held-out accuracies are close. Bad settings are refused.
source "$(dirname "$0")/lib.sh.inc"
T=permpow:n=16,kmax=15,seed=3
args="train --task $T --algo imitate --rounds 200 --questions 128 --batch 32 --eval-every 200 --quiet"
small="--overseer-model transformer:d=32,heads=2,enc=1,dec=1,pointer=0"
"$IAMP" $args --metrics "$TMP/h.jsonl" >"$TMP/h.txt" || fail "IA with H"
"$IAMP" $args --overseer learned $small --overseer-first 200 --metrics "$TMP/l.jsonl" >"$TMP/l.txt" ||
    fail "IA with H': $(cat "$TMP/l.txt")"
field() { tail -1 "$1" | sed -E "s/.*\"$2\":([^,}]*).*/\\1/"; }
hh=$(field "$TMP/h.jsonl" h_calls)
hl=$(field "$TMP/l.jsonl" h_calls)
ask=$(field "$TMP/l.jsonl" hprime_ask_accuracy)
ans=$(field "$TMP/l.jsonl" hprime_answer_accuracy)
ah=$(field "$TMP/h.jsonl" accuracy)
al=$(field "$TMP/l.jsonl" accuracy)
echo "H: $hh H calls, accuracy $ah; H': $hl H calls, accuracy $al, held-out ask $ask answer $ans"
[ "$hl" -ge 200 ] && [ $((hl * 10)) -lt "$hh" ] || fail "H calls: $hl with H', $hh with H"
awk -v a="$ask" -v b="$ans" 'BEGIN { exit !(a > 0.9 && b > 0.9) }' ||
    fail "H' did not learn H's actions (ask $ask, answer $ans)"
awk -v a="$al" -v b="$ah" 'BEGIN { exit !(a > 0.9 && a > b - 0.1) }' ||
    fail "IA with H' ($al) is far from IA with H ($ah)"
grep -q '"labels":0' "$TMP/l.jsonl" || fail "IA used ground-truth labels"
# the curriculum waits for H': it moves on only after a round where H had
# not been called yet or H''s loss on H's new steps was below 0.1
/usr/bin/python3 - "$TMP/l.jsonl" <<'PY' || fail "IA with H': the curriculum moved on before H' had learned H"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
# round b's update sees b's H calls and the loss scored at the end of round a
for a, b, c in zip([{"hprime_loss": None}] + rows, rows, rows[1:]):
    ready = b["h_calls"] == 0 or (a["hprime_loss"] is not None and a["hprime_loss"] < 0.1)
    if c["difficulty"] > b["difficulty"] and not ready:
        sys.exit("round %d went to level %d after h_calls %d, H' loss %s"
                 % (c["round"], c["difficulty"], b["h_calls"], a["hprime_loss"]))
sys.exit(0 if rows[-1]["difficulty"] > rows[0]["difficulty"] else "the curriculum never moved")
PY
# H''s loss counts at a level only once 128 of H's steps there were scored
# (permpow's episodes take at most 4 steps: 32 H calls), so between two
# moves of the curriculum H is called at least 32 times (once it is called
# at all); doubts and
# take-overs are counted, a take-over is an H call
/usr/bin/python3 - "$TMP/l.jsonl" <<'PY' || fail "IA with H': the budget rules"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
last = 0  # H calls when the level last moved (the run's start)
for b, c in zip(rows, rows[1:]):
    if c["difficulty"] != b["difficulty"] and b["h_calls"]:  # (0: all lookups so far)
        if b["h_calls"] - last < 32:
            sys.exit("round %d: level %d after %d H calls at the last level"
                     % (c["round"], c["difficulty"], b["h_calls"] - last))
        last = b["h_calls"]
r = rows[-1]
if not (0 <= r["hprime_takeovers"] <= r["h_calls"] and r["hprime_doubted"] >= r["hprime_takeovers"]):
    sys.exit("doubts %d, take-overs %d, H calls %d" % (r["hprime_doubted"], r["hprime_takeovers"], r["h_calls"]))
PY
# decomposition depths are H's, not H''s (H' knows nothing when they are measured)
grep -q '"accuracy_by_depth":{"0":[^}]*"3":' "$TMP/l.jsonl" ||
    fail "IA with H': accuracy by depth lacks depths 1..3: $(tail -n 1 "$TMP/l.jsonl")"
"$IAMP" train --task $T --algo imitate --overseer someone 2>"$TMP/e1" && fail "bad --overseer"
grep -q "h or learned" "$TMP/e1" || fail "bad --overseer message: $(cat "$TMP/e1")"
"$IAMP" train --task markov --algo imitate --overseer learned --rounds 1 2>"$TMP/e2" &&
    fail "continuous answers accepted"
grep -q "continuous answers" "$TMP/e2" || fail "markov message: $(cat "$TMP/e2")"
finish
