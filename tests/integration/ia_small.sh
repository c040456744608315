# IA without ground truth learns a small permpow instance: held-out accuracy
# rises above 90% within a minute (imitate, depth 1). The metrics file must
# show accuracy rising from near chance.
IAMP=${1:?usage: $0 path/to/iamp}
set -u
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export OPENBLAS_NUM_THREADS=1
start=$(date +%s)
"$IAMP" train --task permpow:n=16,kmax=15,seed=3 --algo imitate --rounds 300 \
    --questions 128 --eval-size 240 --stop-at 0.95 --metrics "$TMP/m.jsonl" --quiet \
    >"$TMP/out.txt" || { echo "FAIL: training failed"; exit 1; }
took=$(($(date +%s) - start))
cat "$TMP/out.txt"
first=$(head -1 "$TMP/m.jsonl" | sed 's/.*"accuracy":\([0-9.e-]*\).*/\1/')
last=$(tail -1 "$TMP/m.jsonl" | sed 's/.*"accuracy":\([0-9.e-]*\).*/\1/')
echo "accuracy: first round $first, last round $last, ${took}s"
awk -v a="$first" 'BEGIN { exit !(a < 0.5) }' || { echo "FAIL: first round already $first"; exit 1; }
awk -v a="$last" 'BEGIN { exit !(a > 0.9) }' || { echo "FAIL: final accuracy $last <= 0.9"; exit 1; }
[ "$took" -lt 60 ] || { echo "FAIL: took ${took}s"; exit 1; }
echo ok
