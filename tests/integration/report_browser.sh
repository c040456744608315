# iamp report in a real browser: a short run's metrics and a depth-2 trace
# become a page that headless Chromium loads without a console error or a
# request beyond the page, with its curves drawn as SVG paths and a tree
# whose nodes open and close on a mouse click (report_browser.py drives
# Chromium over the DevTools pipe). Skipped (77) only when Chromium is not
# installed; scripts/bootstrap installs it. REPORT_SCREENSHOT=FILE.png also
# saves a screenshot of the page.
source "$(dirname "$0")/lib.sh.inc" "$@"
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
    echo "skipped: chromium is not installed (scripts/bootstrap installs it)"
    exit 77
fi
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
T=permpow:n=16,kmax=15,approve=1
"$IAMP" train --task $T --algo pow=mixed,approve=imitate --warmup 10 --rounds 40 --questions 64 \
    --eval-every 2 --quiet --checkpoint-dir "$TMP/run" --metrics "$TMP/run/metrics.jsonl" \
    >/dev/null || fail "training"
for x in 3 5 7; do for k in 13 5 1 15; do echo "pow x=$x k=$k"; done; done >"$TMP/q.txt"
"$IAMP" answer --checkpoint "$TMP/run/checkpoint.pb" --depth 2 --trace "$TMP/run/trace.jsonl" \
    "$TMP/q.txt" >/dev/null || fail "answer --trace"
"$IAMP" report "$TMP/run" -o "$TMP/report.html" || fail "report"
"$PY" "$HERE/report_browser.py" "$CHROMIUM" "$TMP/report.html" "$TMP/run/trace.jsonl" \
    ${REPORT_SCREENSHOT:+--screenshot "$REPORT_SCREENSHOT"} || fail "the page in Chromium"
echo ok
