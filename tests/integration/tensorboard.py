#!/usr/bin/python3
"""`iamp train --tensorboard DIR` against an independent reader
(tfevents.py: TFRecord framing, both masked CRC-32Cs, Event and Summary
decoded by hand):

- the event files hold, round by round, exactly the metrics JSONL rows:
  step = round, one scalar per non-null field tagged with its JSON key
  (per-type accuracies, the task's metrics, the RL figures), the null ones
  left out; the first event is file_version "brain.Event:2";
- the file name is events.out.tfevents.<unix seconds>.<hostname>; a
  resumed run adds a second file (a ".1" suffix when it starts in the same
  second) and the two together are the resumed metrics file;
- a run killed with SIGKILL leaves every row it wrote readable;
- one flipped byte (data or length) and a cut tail are detected by the
  reader's CRC and framing checks;
- a DIR that cannot be made is a one-line error, exit 1.

Usage: tensorboard.py path/to/iamp
"""
import glob
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tfevents  # noqa: E402

IAMP = sys.argv[1]
FAILS = []
ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1")
INTEGER_KEYS = ("examples", "difficulty")


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL:", what, flush=True)
    return cond


def train(*args):
    r = subprocess.run([IAMP, "train", "--threads", "1", "--quiet", *args], capture_output=True,
                       text=True, env=ENV, timeout=240)
    if r.returncode != 0:
        raise RuntimeError("iamp train %s: exit %d: %s" % (" ".join(args), r.returncode,
                                                            r.stderr))
    return r


def rows(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def events(tbdir):
    files = sorted(glob.glob(os.path.join(tbdir, "events.out.tfevents.*")))
    out = []
    for p in files:
        evs = tfevents.read(p)
        check(evs and evs[0]["file_version"] == "brain.Event:2" and evs[0]["step"] == 0 and
              not evs[0]["scalars"], "%s: first event %s" % (p, evs[:1]))
        check(all(e["file_version"] is None for e in evs[1:]), "%s: one file_version" % p)
        out.extend(evs[1:])
    return files, out


def close(a, b):
    """A float32 scalar against its JSON text (%.6g: 6 significant digits)."""
    return abs(a - b) <= 1e-5 * abs(b) + 1e-30


def flat(row):
    """A row's scalars: an object field (accuracy_by_depth) is one scalar per
    key, tagged field/key, as the event files have them."""
    out = {}
    for k, v in row.items():
        if isinstance(v, dict):
            out.update(("%s/%s" % (k, d), x) for d, x in v.items())
        else:
            out[k] = v
    return out


def same(what, jrows, evs, t0, t1):
    """Event i is row i: step = round, the non-null keys but round as tags."""
    if not check(len(evs) == len(jrows), "%s: %d events for %d rows" % (what, len(evs),
                                                                        len(jrows))):
        return
    last_wall = 0.0
    for r, e in zip(jrows, evs):
        want = {k: v for k, v in flat(r).items() if k != "round" and v is not None}
        got = e["scalars"]
        if not check(e["step"] == r["round"] and set(got) == set(want),
                     "%s round %s: step %s, tags %s, want %s" % (
                         what, r["round"], e["step"], sorted(got), sorted(want))):
            continue
        bad = [k for k in want if not (got[k] == want[k] if k in INTEGER_KEYS
                                       else close(got[k], want[k]))]
        check(not bad, "%s round %s: %s" % (what, r["round"],
                                             [(k, got[k], want[k]) for k in bad]))
        check(t0 - 1 <= e["wall_time"] <= t1 + 1 and e["wall_time"] >= last_wall,
              "%s round %s: wall_time %s" % (what, r["round"], e["wall_time"]))
        last_wall = e["wall_time"]


def name_ok(path, t0, t1):
    m = re.fullmatch(r"events\.out\.tfevents\.(\d{10})\.(.+?)(\.\d+)?", os.path.basename(path))
    return bool(m) and int(t0) <= int(m.group(1)) <= int(t1) + 1 and \
        m.group(2) == socket.gethostname().replace("/", "_")


def tasks_and_resume(tmp):
    """permpow with checkpoints and a resume; tictactoe (three types, the RL
    figures); markov (a task metric, continuous answers)."""
    runs = [
        ("permpow", ["--task", "permpow:n=16,kmax=15,seed=3", "--algo", "imitate",
                     "--rounds", "25", "--questions", "128", "--eval-every", "3"]),
        ("tictactoe", ["--task", "tictactoe", "--algo",
                       "value=imitate,action=reinforce,approve=imitate", "--warmup", "2",
                       "--rounds", "6", "--questions", "64", "--hidden", "64",
                       "--eval-every", "2"]),
        ("markov", ["--task", "markov", "--algo", "mixed", "--warmup", "2", "--rounds", "6",
                    "--questions", "64", "--hidden", "64"]),
    ]
    for name, args in runs:
        tb, m, ck = (os.path.join(tmp, name + s) for s in (".tb", ".jsonl", ".ck"))
        t0 = time.time()
        train(*args, "--metrics", m, "--tensorboard", tb, "--checkpoint-dir", ck)
        if name == "permpow":  # and on to round 40, a second event file
            train("--checkpoint-dir", ck, "--resume", "--rounds", "40", "--metrics", m,
                  "--tensorboard", tb, "--eval-every", "3")
        t1 = time.time()
        files, evs = events(tb)
        jr = rows(m)
        check(len(files) == (2 if name == "permpow" else 1), "%s: files %s" % (name, files))
        check(all(name_ok(f, t0, t1) for f in files), "%s: file names %s" % (name, files))
        same(name, jr, evs, t0, t1)
        keys = set().union(*(e["scalars"] for e in evs))
        want = {"permpow": {"accuracy_pow", "examples", "loss", "seconds"},
                "tictactoe": {"accuracy_value", "accuracy_action", "accuracy_approve",
                              "approval", "reward", "kl", "value_error", "entropy"},
                "markov": {"mae", "accuracy_prob", "kl", "reward"}}[name]
        check(want <= keys, "%s: tags %s lack %s" % (name, sorted(keys), sorted(want - keys)))
        if name == "permpow":
            check([r["round"] for r in jr] == list(range(1, 41)), "permpow: rows 1..40")
            check(any(r["accuracy"] is None for r in jr) and
                  all("accuracy" not in e["scalars"] for r, e in zip(jr, evs)
                      if r["accuracy"] is None), "permpow: null accuracy left out")
    return os.path.join(tmp, "permpow.tb")


def killed_run(tmp):
    """SIGKILL mid-run: the rows written so far are all in the event file."""
    tb, m = os.path.join(tmp, "killed.tb"), os.path.join(tmp, "killed.jsonl")
    p = subprocess.Popen([IAMP, "train", "--threads", "1", "--quiet", "--task",
                          "permpow:n=16,kmax=15,seed=3", "--algo", "imitate", "--rounds",
                          "1000000", "--questions", "64", "--metrics", m, "--tensorboard", tb],
                         env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.time()
    while time.time() - t0 < 60 and (not os.path.exists(m) or len(rows(m)) < 15):
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL)
    p.wait()
    files, evs = events(tb)
    jr = rows(m)
    # The kill may fall between a row's JSONL line and its event.
    check(len(jr) >= 15 and len(jr) - 1 <= len(evs) <= len(jr),
          "killed run: %d rows, %d events" % (len(jr), len(evs)))
    same("killed run", jr[:len(evs)], evs, t0 - 1, time.time())


def corruption(tmp, tbdir):
    path = sorted(glob.glob(os.path.join(tbdir, "events.out.tfevents.*")))[0]
    with open(path, "rb") as f:
        good = f.read()
    n0 = struct.unpack("<Q", good[:8])[0]
    second = 16 + n0  # the second record: the first round's event
    cases = {
        "a flipped data byte": (good[:second + 20] + bytes([good[second + 20] ^ 0x01]) +
                                good[second + 21:], "data CRC"),
        "a flipped length byte": (good[:second] + bytes([good[second] ^ 0x04]) +
                                  good[second + 1:], "length CRC"),
        "a flipped CRC byte": (good[:second + 9] + bytes([good[second + 9] ^ 0x80]) +
                               good[second + 10:], "length CRC"),
        "a cut tail": (good[:-3], "truncated"),
    }
    for what, (data, want) in cases.items():
        bad = os.path.join(tmp, "bad")
        with open(bad, "wb") as f:
            f.write(data)
        try:
            tfevents.read(bad)
            check(False, "%s: not detected" % what)
        except tfevents.CorruptRecord as e:
            check(want in str(e), "%s: %s, want %r" % (what, e, want))


def bad_dir(tmp):
    blocker = os.path.join(tmp, "file")
    with open(blocker, "w") as f:
        f.write("x")
    r = subprocess.run([IAMP, "train", "--task", "permpow:n=16,kmax=15", "--algo", "imitate",
                        "--rounds", "1", "--tensorboard", os.path.join(blocker, "tb")],
                       capture_output=True, text=True, env=ENV, timeout=60)
    lines = r.stderr.strip().splitlines()
    check(r.returncode == 1 and len(lines) == 1 and
          lines[0].startswith("iamp: train: --tensorboard: cannot create"),
          "a DIR that cannot be made: exit %d %r" % (r.returncode, r.stderr))


def main():
    t0 = time.time()
    tmp = tempfile.mkdtemp(prefix="iamp-tb-")
    try:
        tbdir = tasks_and_resume(tmp)
        killed_run(tmp)
        corruption(tmp, tbdir)
        bad_dir(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if FAILS:
        print("%d check(s) failed" % len(FAILS))
        sys.exit(1)
    print("tensorboard: events equal the metrics rows (3 tasks, a resume, a killed run); "
          "corruption detected; ok (%.1fs)" % (time.time() - t0))


if __name__ == "__main__":
    main()
