# Every command answers --help on stdout with exit 0.
source "$(dirname "$0")/lib.sh.inc"
for cmd in "" train answer eval bench "bench serve" serve submit status watch result cancel \
    jobs info; do
    out=$("$IAMP" $cmd --help 2>&1) || fail "iamp $cmd --help exited non-zero"
    echo "$out" | grep -q "^usage: iamp" || fail "iamp $cmd --help: no usage line"
done
"$IAMP" version | grep -q "^iamp [0-9]" || fail "iamp version"
finish
