# --timeline writes a Chrome trace with spans from every rank.
source "$(dirname "$0")/lib.sh.inc"
run_np 3 train --task permpow:n=8,kmax=7 --algo imitate --rounds 3 --questions 32 --quiet \
    --timeline "$TMP/t.json" >/dev/null || fail "training with --timeline"
/usr/bin/python3 - "$TMP/t.json" <<'PY' || fail "timeline content"
import json, sys
ev = json.load(open(sys.argv[1]))["traceEvents"]
pids = {e["pid"] for e in ev}
names = {e["name"] for e in ev}
assert pids == {0, 1, 2}, pids
for n in ("amplify", "dispatch", "fit", "forward+backward", "allreduce wait", "optimizer"):
    assert n in names, (n, names)
assert all(e["ph"] == "X" and e["dur"] >= 0 for e in ev)
print(len(ev), "events from ranks", sorted(pids))
PY
finish
