# iamp report without a browser: the page carries the metrics rows and
# trace records exactly as their files hold them (read back from the
# page's data script), names the run from its checkpoint, picks up
# RUN_DIR/trace.jsonl, asks for nothing outside itself, and no text in a
# row can close its script; bad arguments exit 2 and bad files exit 1,
# each with one line, and leave no page behind. (The page in a browser:
# tests/integration/report_browser.sh.)
source "$(dirname "$0")/lib.sh.inc"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
T=permpow:n=16,kmax=15
"$IAMP" train --task $T --algo imitate --rounds 12 --questions 64 --eval-every 3 --quiet \
    --checkpoint-dir "$TMP/run" --metrics "$TMP/run/metrics.jsonl" >/dev/null || fail "training"
printf 'pow x=1 k=13\npow x=2 k=1\n' >"$TMP/q.txt"
"$IAMP" answer --checkpoint "$TMP/run/checkpoint.pb" --depth 2 --trace "$TMP/run/trace.jsonl" \
    "$TMP/q.txt" >/dev/null || fail "answer --trace"
"$IAMP" report "$TMP/run" -o "$TMP/r.html" >"$TMP/out" 2>"$TMP/err" || fail "report: $(cat "$TMP/err")"
[ ! -s "$TMP/out" ] && [ ! -s "$TMP/err" ] || fail "report printed: $(cat "$TMP/out" "$TMP/err")"

# The page's data is the files' content, row for row.
cat >"$TMP/data.py" <<'PYEOF'
import json, sys
page = open(sys.argv[1], encoding="utf-8").read()
start = page.index('<script type="application/json" id="iamp-data">') + len(
    '<script type="application/json" id="iamp-data">')
data = json.loads(page[start:page.index("</script>", start)])
def rows(path):
    return [json.loads(l) for l in open(path) if l.strip()] if path != "-" else []
assert data["metrics"] == rows(sys.argv[2]), "metrics rows differ"
assert data["trace"] == rows(sys.argv[3]), "trace records differ"
for k, v in (a.split("=", 1) for a in sys.argv[4:]):
    got = data
    for part in k.split("."):
        got = got[part] if got is not None else None
    assert str(got) == v, f"{k} is {got!r}, want {v!r}"
PYEOF
"$PY" "$TMP/data.py" "$TMP/r.html" "$TMP/run/metrics.jsonl" "$TMP/run/trace.jsonl" \
    "run.task=permpow:n=16,seed=1,kmax=15" "run.algo=imitate" "run.round=12" \
    "trace_file=$TMP/run/trace.jsonl" "title=iamp report: $TMP/run" || fail "page data"
[ "$(grep -c '"round":' "$TMP/run/metrics.jsonl")" -eq 12 ] || fail "12 metrics rows expected"

# Self-contained: no source, link, import or URL but the SVG namespace.
grep -qiE '<(link|img|iframe)|src=|href=|@import|url\(' "$TMP/r.html" && fail "page loads something"
urls=$(grep -oE 'https?://[^"'"'"' )]*' "$TMP/r.html" | sort -u)
[ "$urls" = "http://www.w3.org/2000/svg" ] || fail "page names URLs: $urls"

# A row's text cannot close the script it sits in.
mkdir "$TMP/x"
printf '{"round":1,"examples":64,"note":"</script><script>alert(1)</script>"}\n' >"$TMP/x/metrics.jsonl"
"$IAMP" report "$TMP/x" --title 'a <b> "t"' -o "$TMP/x.html" || fail "report x"
[ "$(grep -c '</script>' "$TMP/x.html")" -eq 2 ] || fail "a row closed the script: $(grep -c '</script>' "$TMP/x.html")"
"$PY" "$TMP/data.py" "$TMP/x.html" "$TMP/x/metrics.jsonl" - 'title=a <b> "t"' "run=None" ||
    fail "escaped page data"

# --metrics and --trace alone, without RUN_DIR.
"$IAMP" report --trace "$TMP/run/trace.jsonl" -o "$TMP/t.html" || fail "report --trace alone"
"$PY" "$TMP/data.py" "$TMP/t.html" - "$TMP/run/trace.jsonl" "run=None" || fail "trace-only page"

# Bad uses: exit 2; bad files: exit 1; one line each, no page written.
mkdir "$TMP/empty"
expect_error 2 "-o FILE" -- "$IAMP" report "$TMP/run"
expect_error 2 "is not a directory" -- "$IAMP" report "$TMP/none" -o "$TMP/o.html"
expect_error 2 "has no metrics.jsonl: give --metrics FILE" -- "$IAMP" report "$TMP/empty" -o "$TMP/o.html"
expect_error 2 "give RUN_DIR, --metrics FILE or --trace FILE" -- "$IAMP" report -o "$TMP/o.html"
expect_error 2 "unexpected argument" -- "$IAMP" report "$TMP/run" "$TMP/run" -o "$TMP/o.html"
expect_error 2 "unknown option" -- "$IAMP" report "$TMP/run" -o "$TMP/o.html" --depth 2
printf '{"round":1,"examples":64}\n{"round":2,"examples":\n' >"$TMP/bad.jsonl"
expect_error 1 "bad.jsonl line 2: not a JSON object: byte 23: unexpected end" -- \
    "$IAMP" report --metrics "$TMP/bad.jsonl" -o "$TMP/o.html"
printf '{"round":1,"loss":0.5}\n' >"$TMP/bad.jsonl"
expect_error 1 'bad.jsonl line 1: not a metrics row: no "examples"' -- \
    "$IAMP" report --metrics "$TMP/bad.jsonl" -o "$TMP/o.html"
printf '{"question":"pow x=1 k=2","answer":"3"}\n' >"$TMP/bad.jsonl"
expect_error 1 'bad.jsonl line 1: not a trace record: no "tree"' -- \
    "$IAMP" report "$TMP/run" --trace "$TMP/bad.jsonl" -o "$TMP/o.html"
printf '\n\n' >"$TMP/bad.jsonl"
expect_error 1 "has no metrics rows" -- "$IAMP" report --metrics "$TMP/bad.jsonl" -o "$TMP/o.html"
printf '{"round":1,"examples":64,"x":"\377"}\n' >"$TMP/bad.jsonl"
expect_error 1 "not valid UTF-8" -- "$IAMP" report --metrics "$TMP/bad.jsonl" -o "$TMP/o.html"
expect_error 1 "metrics $TMP/nofile.jsonl: no such file" -- \
    "$IAMP" report --metrics "$TMP/nofile.jsonl" -o "$TMP/o.html"
[ ! -e "$TMP/o.html" ] || fail "a page was written for bad input"
expect_error 1 "cannot write $TMP/none/o.html" -- "$IAMP" report "$TMP/run" -o "$TMP/none/o.html"
finish
