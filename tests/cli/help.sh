# Every command answers --help on stdout with exit 0; train's lists every
# distillation mode, its options and the tasks.
source "$(dirname "$0")/lib.sh.inc"
for cmd in "" train answer eval bench "bench serve" serve submit status watch result cancel \
    jobs info report; do
    out=$("$IAMP" $cmd --help 2>&1) || fail "iamp $cmd --help exited non-zero"
    echo "$out" | grep -q "^usage: iamp" || fail "iamp $cmd --help: no usage line"
done
help=$("$IAMP" train --help)
for word in imitate search reinforce mixed supervised --samples --warmup --entropy \
    --value-coef --lambda --beta tictactoe approve=1; do
    echo "$help" | grep -q -- "$word" || fail "train --help does not mention $word"
done
"$IAMP" answer --help | grep -q -- "--trace FILE" || fail "answer --help does not mention --trace"
"$IAMP" --help | grep -q "^  report " || fail "iamp --help does not list report"
"$IAMP" version | grep -q "^iamp [0-9]" || fail "iamp version"
finish
