# `iamp answer` under mpirun gives exactly the single-process answers, for
# many roots (shipped whole) and for few (H expands the top level on rank 0).
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
finish
