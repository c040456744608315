# `iamp answer` under mpirun gives exactly the single-process answers, for
# many roots (shipped whole) and for few (H expands the top level on rank 0);
# --trace is refused there.
source "$(dirname "$0")/lib.sh.inc"
T=permpow:n=16,kmax=15
"$IAMP" train --task $T --algo imitate --rounds 20 --questions 64 --quiet \
    --checkpoint-dir "$TMP/run" >/dev/null || fail "training"
CK=$TMP/run/checkpoint.pb
for x in $(seq 0 15); do for k in $(seq 1 15); do echo "pow x=$x k=$k"; done; done >"$TMP/many.txt"
printf 'pow x=3 k=15\npow x=9 k=14\n' >"$TMP/few.txt"
for spec in many:0 many:2 few:1 few:3; do
    f=${spec%:*}
    depth=${spec#*:}
    {
        run_np 1 answer --checkpoint "$CK" --depth $depth "$TMP/$f.txt" >"$TMP/1.jsonl" ||
            fail "N=1 $f depth $depth"
        for np in 2 4; do
            run_np $np answer --checkpoint "$CK" --depth $depth "$TMP/$f.txt" >"$TMP/$np.jsonl" ||
                fail "N=$np $f depth $depth"
            cmp -s "$TMP/1.jsonl" "$TMP/$np.jsonl" || fail "N=$np $f depth $depth answers differ"
        done
    }
done
[ "$(wc -l <"$TMP/1.jsonl")" -eq 2 ] || fail "few: want 2 answers"
# Questions on facts: each unit ships its instances once; the answers are
# the single process's, for many roots and for a few split on rank 0.
C=permpow:n=10,context=1
"$IAMP" train --task $C --model transformer:d=16,heads=2,enc=1,dec=1 --algo imitate --rounds 3 \
    --questions 64 --eval-size 32 --quiet --checkpoint-dir "$TMP/ctx" >/dev/null || fail "training on facts"
{
    for b in 0 1 2 3 4 5; do
        printf 'facts: %d %d' 0 $(((b + 1) % 10))
        for x in 1 2 3 4 5 6 7 8 9; do printf ', %d %d' $x $(((x + b + 1) % 10)); done
        echo
        for k in $(seq 1 9); do echo "pow x=$((k % 10)) k=$k"; done
    done
} >"$TMP/facts.txt"
head -3 "$TMP/facts.txt" | tail -1 | grep -q "pow x=2 k=2" || fail "facts input: $(head -3 "$TMP/facts.txt")"
for depth in 0 2; do
    run_np 1 answer --checkpoint "$TMP/ctx/checkpoint.pb" --depth $depth "$TMP/facts.txt" \
        >"$TMP/f1.jsonl" || fail "facts N=1 depth $depth"
    run_np 3 answer --checkpoint "$TMP/ctx/checkpoint.pb" --depth $depth "$TMP/facts.txt" \
        >"$TMP/f3.jsonl" || fail "facts N=3 depth $depth"
    cmp -s "$TMP/f1.jsonl" "$TMP/f3.jsonl" || fail "facts: N=3 depth $depth answers differ"
done
[ "$(wc -l <"$TMP/f1.jsonl")" -eq 54 ] || fail "facts: want 54 answers"
# --trace is refused under mpirun (a worker's subtree would be missing
# from the tree): exit 2, the reason on rank 0's one line, no trace file.
run_np 2 answer --checkpoint "$CK" --depth 2 --trace "$TMP/t.jsonl" "$TMP/few.txt" \
    >"$TMP/t.out" 2>"$TMP/t.err"
rc=$?
[ $rc -eq 2 ] || fail "--trace under mpirun: exit $rc, want 2"
[ "$(grep -c '^iamp: ' "$TMP/t.err")" -eq 1 ] && grep -q -- "--trace needs one process" "$TMP/t.err" ||
    fail "--trace under mpirun: $(cat "$TMP/t.err")"
[ ! -e "$TMP/t.jsonl" ] && [ ! -s "$TMP/t.out" ] || fail "--trace under mpirun wrote output"
finish
