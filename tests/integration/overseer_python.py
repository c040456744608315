#!/usr/bin/python3
"""The Python remote overseer (python/iamp/overseer.py) and permpow's H in
Python (python/examples/permpow.py), each a real process on real TCP,
spoken to as `iamp --task remote:` does (overseerwire.py):

- the schema: the task, the primitive types (pow; pow and approve with
  approve=1), the name; a Hello of another version is refused in it;
- amplification through it in batches: deep enough, every answer is
  sigma^k(x) of its own instance with no leaf left to M; at depth 1 with a
  wrong M the asks are exactly tasks/permpow.c's (x, k/2), (y, k/2) and
  for odd k (z, 1), which H answers itself, and the answer is M's composed
  with that odd step; approve questions get
  yes for the true power and no for another;
- errors come back as OverseerReplies.error naming the episode and the
  cause, and the connection goes on: an unknown episode on STEP, a step of
  a run that ended, too few answers, a context that is not in the batch,
  an H that raises, too many asks, an answer() that returns nothing; a
  garbage frame is an error, an oversized one closes the connection; the
  server serves a new connection after each;
- SIGTERM: the overseer exits 0 at once, with nothing on stderr;
- end to end with iamp (`--task remote:addr=...`): a fixed-seed `iamp
  train` through permpow.py gives the metrics and the checkpoint (all but
  its task and wall time) of the built-in permpow:context=1's (imitate;
  and search with approve=1, approval through the overseer too), and `iamp
  answer --depth 2` with each checkpoint the same answers; an H that
  raises fails iamp's run with the overseer's reason; an overseer killed
  mid-training ends the run within 60 s, naming the overseer.

Usage: overseer_python.py path/to/iamp
"""
import json
import os
import random
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import overseerwire as ow  # noqa: E402
from overseerwire import pb  # noqa: E402

PERMPOW = os.path.join(ow.PYDIR, "examples", "permpow.py")
N, KMAX = 16, 15  # permpow:context=1's defaults
FAILS = []


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL:", what, flush=True)
    return cond


def instance(rng):
    """A permutation of 9..16 elements of 0..15, as facts (x, sigma(x))."""
    size = rng.randint(9, N)
    elems = rng.sample(range(N), size)
    img = elems[:]
    rng.shuffle(img)
    return tuple(zip(elems, img))


def power(facts, x, k):
    s = dict(facts)
    for _ in range(k):
        x = s[x]
    return x


def qtok(x, k):
    return (x, N + k - 1)


def check_schema(conn):
    s = conn.hello()
    check(s.version == 1 and s.task == "permpow:context=1" and not s.HasField("error"),
          "schema: %s" % s)
    check(s.HasField("primitive_types") and s.primitive_types == 1,
          "schema: primitive_types %d, want 1 (pow only)" % s.primitive_types)
    check(s.name == "PermPow" and not s.want_text, "schema: name %r want_text %r"
          % (s.name, s.want_text))


def check_deep(addr, rng):
    """Depth 4 reaches k = 1 from every k <= 15: all answers exact, M never asked."""
    conn = ow.Conn(addr)
    check_schema(conn)
    ctxs = [instance(rng) for _ in range(32)]
    roots = []
    for ci, facts in enumerate(ctxs):
        for _ in range(16):
            roots.append((0, qtok(rng.choice(facts)[0], rng.randint(1, KMAX)), ci))
    eng = ow.Engine(conn, run=1, leaf=lambda q, c: (0,))
    t0 = time.monotonic()
    got = eng.amplify(roots, ctxs, depth=4)
    dt = time.monotonic() - t0
    want = [(power(ctxs[c], t[0], t[1] - N + 1),) for _, t, c in roots]
    bad = [i for i in range(len(roots)) if got[i] != want[i]]
    check(not bad, "depth 4: %d of %d answers wrong (first: %s -> %s, want %s)"
          % (len(bad), len(roots), roots[bad[0]] if bad else None,
             got[bad[0]] if bad else None, want[bad[0]] if bad else None))
    check(eng.leaf_calls == 0, "depth 4: %d leaves went to M" % eng.leaf_calls)
    print("depth 4: %d roots, %d calls in %d batches, %.0f calls/s"
          % (len(roots), eng.calls, eng.batches, eng.calls / dt), flush=True)
    conn.close()


def check_depth1(addr, rng):
    """Depth 1 with a wrong M: the asks and the combination are permpow.c's."""
    conn = ow.Conn(addr)
    conn.hello()
    ctxs = [instance(rng) for _ in range(8)]

    def m(q, ci):  # a deterministic wrong answer, some out of the instance's range
        return ((q[1][0] * 7 + q[1][1]) % (N + 3),)

    roots = [(0, qtok(rng.choice(f)[0], k), ci) for ci, f in enumerate(ctxs)
             for k in range(1, KMAX + 1)]
    eng = ow.Engine(conn, run=2, leaf=m)
    got = eng.amplify(roots, ctxs, depth=1)
    sig = [dict(f) for f in ctxs]
    for (t, (x, ktok), ci), a, asks in zip(roots, got, eng.asks):
        k = ktok - N + 1
        if k == 1:
            check(a == (sig[ci][x],), "depth 1: k=1 x=%d answered %s" % (x, a))
            continue
        half = k // 2

        def sub(e):  # a leaf: H's primitive for k = 1, else M (a bad element reads as 0)
            if half == 1:
                return sig[ci].get(e, 0)
            a = m((0, qtok(e, half)), ci)[0]
            return a if a < N else 0

        y = sub(x)
        z = sub(y)
        # the asks: one each, (x, half), (y, half), and (z, 1) for odd k
        want = [((0, (x, ktok)), [(0, qtok(x, half))]), ((0, (x, ktok)), [(0, qtok(y, half))])]
        if k & 1:
            want.append(((0, (x, ktok)), [(0, qtok(z, 1))]))
            z = sig[ci].get(z, 0)
        check(asks == want, "depth 1: k=%d x=%d asked %s, want %s" % (k, x, asks, want))
        check(a == (z,), "depth 1: k=%d x=%d answered %s, want %d" % (k, x, a, z))
    conn.close()


def check_approve(rng):
    p, addr = ow.start([PERMPOW, "--listen", "127.0.0.1:0",
                        "--task", "permpow:context=1,approve=1"])
    conn = ow.Conn(addr)
    s = conn.hello()
    check(s.task == "permpow:context=1,approve=1" and s.primitive_types == 3,
          "approve schema: %s" % s)
    ctxs = [instance(rng) for _ in range(4)]
    roots, want = [], []
    for ci, f in enumerate(ctxs):
        for k in (1, 2, 5, 15):
            x = rng.choice(f)[0]
            y = power(f, x, k)
            for a, yes in ((y, 1), ((y + 1) % N, 0)):
                roots.append((1, (x, N + k - 1, a), ci))
                want.append((N + KMAX + yes,))
    got = ow.Engine(conn, run=1, leaf=lambda q, c: (0,)).amplify(roots, ctxs, depth=4)
    check(got == want, "approve: got %s, want %s" % (got, want))
    conn.close()
    check(ow.stop(p) == 0, "approve overseer: exit status on SIGTERM")


def expect_error(conn, run, calls, has, what, contexts=()):
    rep = conn.batch(run, calls, contexts)
    ok = check(rep.HasField("error") and all(h in rep.error for h in has) and
               not rep.replies and rep.run == run,
               "%s: got %s, want an error with %s" % (what, rep, has))
    if ok:
        print("%s: %s" % (what, rep.error), flush=True)


def still_serves(conn, what):
    facts = ((0, 1), (1, 0))
    rep = conn.batch(77, [ow.call(pb.CALL_PRIMITIVE, 1, 0, qtok(0, 1), 0)], [facts])
    check(not rep.HasField("error") and rep.replies[0].kind == pb.REPLY_DONE and
          list(rep.replies[0].answer.tokens) == [1], "%s: then a good batch: %s" % (what, rep))


def check_errors(addr, rng):
    f = instance(rng)
    x = f[0][0]
    conn = ow.Conn(addr)
    conn.hello()
    expect_error(conn, 3, [ow.call(pb.CALL_STEP, 999, answers=[(1,)])],
                 ["episode 999", "unknown episode"], "unknown episode")
    still_serves(conn, "unknown episode")
    # a run that ended forgets its episodes
    rep = conn.batch(5, [ow.call(pb.CALL_START, 1, 0, qtok(x, 4), 0)], [f])
    check(rep.replies[0].kind == pb.REPLY_ASK, "start k=4: %s" % rep)
    b = conn.batch(6, [], ended=[5])
    check(not b.HasField("error") and not b.replies, "empty batch ending run 5: %s" % b)
    expect_error(conn, 5, [ow.call(pb.CALL_STEP, 1, answers=[(1,)])],
                 ["episode 1", "unknown episode"], "step of an ended run")
    rep = conn.batch(8, [ow.call(pb.CALL_START, 4, 0, qtok(x, 4), 0)], [f])
    expect_error(conn, 8, [ow.call(pb.CALL_STEP, 4, answers=[])],
                 ["episode 4", "0 answers to an ask of 1"], "too few answers")
    expect_error(conn, 9, [ow.call(pb.CALL_START, 1, 0, qtok(x, 2), 3)],
                 ["episode 1", "context 3 of a batch of 1"], "context out of range", [f])
    # OverseerBatch{run 9, calls {kind 7, episode 2}}: no such kind
    conn.send_raw(b"\x00\x00\x00\x08\x08\x09\x12\x04\x08\x07\x10\x02")
    rep = conn.recv(pb.OverseerReplies)
    check(rep.HasField("error") and "missing calls[0].kind" in rep.error, "call kind 7: %s" % rep)
    still_serves(conn, "errors")
    conn.close()
    # a Hello of another version
    conn = ow.Conn(addr)
    s = conn.hello(version=2)
    check(s.HasField("error") and "version 2" in s.error and not s.task,
          "hello version 2: %s" % s)
    check(conn.recv_raw() is None, "hello version 2: the connection closes")
    conn.close()
    # garbage: an error reply, and the connection goes on
    conn = ow.Conn(addr)
    conn.hello()
    conn.send_raw(b"\x00\x00\x00\x06\xff\xff\xff\xff\xff\xff")
    rep = conn.recv(pb.OverseerReplies)
    check(rep.HasField("error") and "undecodable OverseerBatch" in rep.error,
          "garbage frame: %s" % rep)
    still_serves(conn, "garbage frame")
    # an oversized frame closes the connection
    conn.send_raw(b"\x7f\xff\xff\xff")
    rep = conn.recv_raw()
    check(rep is not None and b"bad frame" in rep and conn.recv_raw() is None,
          "oversized frame: %r, then the connection closes" % rep)
    conn.close()
    conn = ow.Conn(addr)
    conn.hello()
    still_serves(conn, "a new connection after the oversized frame")
    conn.close()


FAULTY = r'''
import sys, iamp
class Faulty(iamp.Overseer):
    task = "permpow:context=1"
    primitive_types = [0]
    def primitive(self, q):
        if q.tokens[1] == 16 and q.tokens[0] == 13:
            raise KeyError(13)
        return None
    def answer(self, q):
        k = q.tokens[1] - 15
        if k == 2:
            raise ValueError("boom on x=%d" % q.tokens[0])
        if k == 3:
            yield [iamp.Question(0, (0, 16))] * 17
        if k == 4:
            yield iamp.Question(0, (q.tokens[0], 17))
            return None
        if k == 5:
            a = yield [iamp.Question(0, (1, 16)), iamp.Question(None, None, text="pow x=2 k=1")]
            return iamp.Answer((a[0].tokens[0] + a[1].tokens[0],))
        return [5]
sys.exit(Faulty.main())
'''


def check_faulty(rng):
    p, addr = ow.start(["-c", FAULTY, "--listen", "127.0.0.1:0"])
    f = ((0, 1), (1, 2), (2, 0))
    conn = ow.Conn(addr)
    conn.hello()
    expect_error(conn, 1, [ow.call(pb.CALL_START, 1, 0, qtok(1, 1), 0),
                           ow.call(pb.CALL_START, 2, 0, qtok(1, 2), 0)],
                 ["call 2 of 2", "START episode 2", "ValueError: boom on x=1"],
                 "H raises", [f])
    expect_error(conn, 2, [ow.call(pb.CALL_PRIMITIVE, 1, 0, qtok(13, 1), 0)],
                 ["PRIMITIVE episode 1", "KeyError: 13"], "primitive raises", [f])
    expect_error(conn, 3, [ow.call(pb.CALL_START, 1, 0, qtok(1, 3), 0)],
                 ["asked 17 questions (1..16"], "too many asks", [f])
    rep = conn.batch(4, [ow.call(pb.CALL_START, 1, 0, qtok(1, 4), 0)], [f])
    check(rep.replies[0].kind == pb.REPLY_ASK, "k=4 asks: %s" % rep)
    expect_error(conn, 4, [ow.call(pb.CALL_STEP, 1, answers=[(2,)])],
                 ["STEP episode 1", "returned no answer"], "answer() returns None")
    # a list of asks, one by text, gets a list of answers
    rep = conn.batch(5, [ow.call(pb.CALL_START, 1, 0, qtok(1, 5), 0)], [f])
    r = rep.replies[0]
    check(r.kind == pb.REPLY_ASK and len(r.asks) == 2 and list(r.asks[0].tokens) == [1, 16]
          and r.asks[1].text == "pow x=2 k=1" and not r.asks[1].tokens
          and not r.asks[1].HasField("type"), "a list of asks, one by text: %s" % rep)
    rep = conn.batch(5, [ow.call(pb.CALL_STEP, 1, answers=[(2,), (0,)])])
    check(rep.replies[0].kind == pb.REPLY_DONE and list(rep.replies[0].answer.tokens) == [2]
          and not rep.replies[0].primitive, "the list's answers: %s" % rep)
    # a type not declared primitive is never asked about
    rep = conn.batch(6, [ow.call(pb.CALL_PRIMITIVE, 1, 1, (13, 16), 0)], [f])
    check(rep.replies[0].kind == pb.REPLY_NOT_PRIMITIVE, "undeclared type: %s" % rep)
    conn.close()
    rc = ow.stop(p)
    err = p.stderr.read()
    check(rc == 0 and not err, "faulty overseer: SIGTERM exit %s, stderr %r" % (rc, err))


IAMP = sys.argv[1] if len(sys.argv) > 1 else None
ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1")


def iamp(*args, ok=True):
    r = subprocess.run([IAMP, *args], capture_output=True, text=True, env=ENV, timeout=300)
    if ok and r.returncode != 0:
        raise RuntimeError("iamp %s: exit %d: %s" % (" ".join(args), r.returncode, r.stderr))
    return r


def checkpoint(path):
    f = pb.CheckpointFile()
    with open(path, "rb") as fh:
        f.ParseFromString(fh.read())
    c = pb.Checkpoint()
    c.ParseFromString(f.payload)
    for name in ("task", "seconds", "reached_99_seconds"):  # what may differ
        c.ClearField(name)
    return c


def metrics(path):
    with open(path) as f:
        rows = [json.loads(line) for line in f]
    for r in rows:
        r.pop("seconds", None)
        r.pop("round_seconds", None)
    return rows


def same_training(addr, task, algo, rounds, tmp):
    """A fixed-seed `iamp train` of the built-in task and of the remote one
    through the overseer at addr: the same metrics and checkpoints. Returns
    their checkpoint directories (built-in, remote).

    On a loaded machine a built-in run alone has been seen to differ from
    the next one, rarely (a round's agreement 104/512 for 103/512, the
    parameters the same; the remote task plays no part in it): a pair that
    differs is run again, twice at most, and any built-in run equal to any
    remote run passes, saying so."""
    runs = {"builtin": [], "remote": []}
    for attempt in range(3):
        for name, spec in (("builtin", task), ("remote", "remote:addr=" + addr)):
            d = os.path.join(tmp, "%s-%s-%d" % (algo, name, attempt))
            t0 = time.monotonic()
            iamp("train", "--task", spec, "--algo", algo, "--rounds", str(rounds), "--seed",
                 "5", "--depth", "1", "--metrics", d + ".jsonl", "--checkpoint-dir", d)
            runs[name].append((metrics(d + ".jsonl"), checkpoint(os.path.join(d, "checkpoint.pb")),
                               time.monotonic() - t0, d))
        for mb, cb, tb, db in runs["builtin"]:
            for mr, cr, tr, dr in runs["remote"]:
                if mb == mr and cb == cr and len(mb) == rounds and len(cb.params) > 0:
                    again = "" if attempt == 0 else (
                        " (equal on attempt %d; the built-in runs differ among themselves: %s)"
                        % (attempt + 1, len({json.dumps(r[0]) for r in runs["builtin"]}) > 1))
                    print("train %s --algo %s, %d rounds at depth 1: built-in H %.1f s, "
                          "remote H %.1f s%s" % (task, algo, rounds, tb, tr, again), flush=True)
                    return db, dr
    (mb, cb, _, _), (mr, cr, _, _) = runs["builtin"][0], runs["remote"][0]
    check(mb == mr, "train %s %s: the metrics differ:\n%s\n%s" % (task, algo, mb, mr))
    check(cb == cr, "train %s %s: the checkpoints differ" % (task, algo))
    return runs["builtin"][0][3], runs["remote"][0][3]


def check_iamp(addr, rng, tmp):
    """iamp itself as the client: the same runs as the built-in task's."""
    remote = "remote:addr=" + addr
    ckb, ckr = same_training(addr, "permpow:context=1", "imitate", 4, tmp)
    p, aaddr = ow.start([PERMPOW, "--listen", "127.0.0.1:0",
                         "--task", "permpow:context=1,approve=1"])
    same_training(aaddr, "permpow:context=1,approve=1", "search", 2, tmp)
    ow.stop(p)
    # the same questions answered at depth 2 with each checkpoint
    qfile = os.path.join(tmp, "questions.txt")
    with open(qfile, "w") as f:
        for _ in range(16):
            facts = instance(rng)
            f.write("facts: %s\n" % ", ".join("%d %d" % xy for xy in facts))
            for _ in range(8):
                f.write("pow x=%d k=%d\n" % (rng.choice(facts)[0], rng.randint(1, KMAX)))
    ab = iamp("answer", "--task", "permpow:context=1", "--depth", "2", "--checkpoint",
              os.path.join(ckb, "checkpoint.pb"), qfile).stdout.splitlines()
    ar = iamp("answer", "--task", remote, "--depth", "2", "--checkpoint",
              os.path.join(ckr, "checkpoint.pb"), qfile).stdout.splitlines()
    check(ab == ar and len(ab) == 128, "answer --depth 2: %d and %d lines, %d differ"
          % (len(ab), len(ar), sum(x != y for x, y in zip(ab, ar))))
    # an H that raises: iamp's run fails with its reason
    p, faddr = ow.start(["-c", FAULTY, "--listen", "127.0.0.1:0"])
    with open(qfile + ".k2", "w") as f:
        f.write("facts: 0 1, 1 2, 2 0\npow x=1 k=2\n")
    r = iamp("answer", "--task", "remote:addr=" + faddr, "--depth", "1", qfile + ".k2", ok=False)
    check(r.returncode == 1 and "Faulty" in r.stderr and "ValueError: boom on x=1" in r.stderr,
          "iamp with an H that raises: exit %d, %r" % (r.returncode, r.stderr))
    ow.stop(p)
    # the overseer killed mid-training
    p, kaddr = ow.start([PERMPOW, "--listen", "127.0.0.1:0"])
    mfile = os.path.join(tmp, "killed.jsonl")
    t = subprocess.Popen([IAMP, "train", "--task", "remote:addr=" + kaddr, "--algo", "imitate",
                          "--rounds", "100000",
                          "--metrics", mfile], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, env=ENV)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and t.poll() is None and not (
            os.path.exists(mfile) and os.path.getsize(mfile) > 0):
        time.sleep(0.1)
    p.kill()
    p.wait()
    t0 = time.monotonic()
    try:
        t.wait(60)
    except subprocess.TimeoutExpired:
        t.kill()
        t.wait()
    err = t.stderr.read()
    check(t.returncode == 1 and time.monotonic() - t0 < 60 and "overseer" in err,
          "iamp train after the overseer was killed: exit %s after %.0f s: %r"
          % (t.returncode, time.monotonic() - t0, err[-300:]))
    print("overseer killed: iamp ended in %.1f s: %s" % (time.monotonic() - t0,
                                                          err.strip().splitlines()[-1:]))


def main():
    rng = random.Random(14)
    p, addr = ow.start([PERMPOW, "--listen", "127.0.0.1:0"])
    try:
        check_deep(addr, rng)
        check_depth1(addr, rng)
        check_errors(addr, rng)
        # several connections at once (one per rank under mpirun)
        conns = [ow.Conn(addr) for _ in range(3)]
        for c in conns:
            c.hello()
        for i, c in enumerate(conns):
            still_serves(c, "connection %d of 3" % (i + 1))
        for c in conns:
            c.close()
        if IAMP:
            with tempfile.TemporaryDirectory() as tmp:
                check_iamp(addr, rng, tmp)
    finally:
        t0 = time.monotonic()
        rc = ow.stop(p)
        dt = time.monotonic() - t0
        err = p.stderr.read()
    check(rc == 0 and dt < 5 and not err,
          "permpow.py on SIGTERM: exit %s after %.1f s, stderr %r" % (rc, dt, err))
    check_approve(rng)
    check_faulty(rng)
    if FAILS:
        print("overseer_python: %d failures" % len(FAILS))
        return 1
    print("overseer_python: all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
