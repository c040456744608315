#!/usr/bin/python3
"""`--task remote:addr=...` against overseers that misbehave, each a real
process on a real TCP port (this file, run with --serve MODE):

- a correct overseer (permpow:context=1's H written here from the proto,
  independently of python/iamp): `iamp answer` equals the built-in task's,
  and `iamp train` gives the same parameters as the built-in task (the
  remote H gives the same targets question by question);
- every bad reply fails the run with a one-line reason that names the
  overseer and what was wrong, and nothing is answered or trained on it:
  a reply that never comes (timeout), too few replies, a reply for another
  run, out-of-range tokens in an ask, an answer outside its answer space,
  ASK to a PRIMITIVE call, more asks than the task allows in all, a
  question text that does not parse, an error the overseer reports,
  garbage bytes, a refusing schema, a schema naming an unknown task;
- a bad reply in round 3 of training: the run fails, and the checkpoint is
  the model of round 2 exactly as a good run's (nothing trained on it);
- the overseer killed mid-training: `iamp train` ends within 60 s naming
  the overseer; after a restart of the overseer, --resume finishes;
- `iamp serve --task remote:...`: killing the overseer fails the train
  job with that reason, the server keeps serving (info, depth-0 answers),
  and once the overseer is back, depth-1 answer jobs work again.

Usage: overseer_faults.py path/to/iamp
"""
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.normpath(os.path.join(HERE, "..", "..", "python", "iamp",
                                                 "_generated")))
import iamp_pb2 as pb  # noqa: E402

N, KMAX = 16, 15  # permpow:context=1's defaults
TASK = "permpow:context=1"


# ------------------------------------------------------------ the overseer

def read_exact(c, n):
    b = b""
    while len(b) < n:
        x = c.recv(n - len(b))
        if not x:
            raise EOFError
        b += x
    return b


def recv_msg(c, cls):
    n = struct.unpack(">I", read_exact(c, 4))[0]
    m = cls()
    m.ParseFromString(read_exact(c, n))
    return m


def send_bytes(c, b):
    c.sendall(struct.pack(">I", len(b)) + b)


def sigma(facts, x):
    for f in facts:
        if f[0] == x:
            return f[1]
    return 0


class Overseer:
    """permpow's H, or one fault from batch `after` on."""

    def __init__(self, mode, after):
        self.mode, self.after, self.batches = mode, after, 0

    def conversation(self, c):
        recv_msg(c, pb.OverseerHello)
        schema = pb.OverseerSchema(version=1, name="faulty", task=TASK, primitive_types=1)
        if self.mode == "refuse":
            schema = pb.OverseerSchema(version=1, name="faulty", error="not today")
        if self.mode == "badtask":
            schema.task = "nosuch:x=1"
        send_bytes(c, schema.SerializeToString())
        eps = {}
        while True:
            b = recv_msg(c, pb.OverseerBatch)
            self.batches += 1
            bad = self.batches >= self.after and self.mode
            facts = [[tuple(cx.tokens[i:i + cx.fact_len])
                      for i in range(0, len(cx.tokens), cx.fact_len)] for cx in b.contexts]
            out = pb.OverseerReplies(run=b.run)
            for call in b.calls:
                self.reply(call, facts, eps, out.replies.add(), bad)
            if bad == "hang":
                time.sleep(3600)
            if bad == "count":
                del out.replies[-1]
            if bad == "run":
                out.run += 1
            if bad == "error":
                out = pb.OverseerReplies(run=b.run, error="H raised ValueError: bad fact")
            if bad == "garbage":
                send_bytes(c, b"\xff\xfe not a message")
                continue
            send_bytes(c, out.SerializeToString())

    def reply(self, call, facts, eps, r, bad):
        if call.kind in (pb.CALL_PRIMITIVE, pb.CALL_START):
            q = call.question
            x, k = q.tokens[0], q.tokens[1] - N + 1
            fs = facts[q.context]
            if k == 1:
                r.kind, r.primitive = pb.REPLY_DONE, True
                r.answer.tokens.append(999 if bad == "badanswer" else sigma(fs, x))
                return
            if call.kind == pb.CALL_PRIMITIVE:
                r.kind = pb.REPLY_ASK if bad == "primask" else pb.REPLY_NOT_PRIMITIVE
                if bad == "primask":
                    r.asks.add(type=0, tokens=[x, N])
                return
            eps[call.episode] = [x, k, fs, 1]
            self.ask(r, x, k, bad)
            return
        e = eps[call.episode]
        x, k, fs, phase = e
        z = call.answers[0].tokens[0]
        if phase == 1 or bad == "manyasks":
            e[3] = 2
            self.ask(r, z, k, bad)
        else:
            r.kind = pb.REPLY_DONE
            r.answer.tokens.append(sigma(fs, z) if k & 1 else z)
            del eps[call.episode]

    def ask(self, r, x, k, bad):
        r.kind = pb.REPLY_ASK
        if bad == "text":
            r.asks.add(text="pow x=%d kk=%d" % (x, k // 2))
        elif bad == "textok":
            r.asks.add(text="pow x=%d k=%d" % (x, k // 2))
        else:
            r.asks.add(type=0, tokens=[777 if bad == "badask" else x, N + k // 2 - 1])


def serve(mode, after, portfile):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    port = int(os.environ.get("OVERSEER_PORT", "0"))
    s.bind(("127.0.0.1", port))
    s.listen(16)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(s.getsockname()[1]))
    os.rename(portfile + ".tmp", portfile)
    ov = Overseer(mode, after)
    while True:
        c, _ = s.accept()

        def run(c=c):
            try:
                ov.conversation(c)
            except (EOFError, ConnectionError):
                pass
            finally:
                c.close()
        threading.Thread(target=run, daemon=True).start()


# ------------------------------------------------------------ the tests

IAMP = None
TMP = None
FAILS = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        FAILS.append(what)


def start_overseer(mode="", after=1, port=0):
    portfile = os.path.join(TMP, "ov.port.%d" % time.monotonic_ns())
    env = dict(os.environ, OVERSEER_PORT=str(port))
    p = subprocess.Popen([sys.executable, __file__, "--serve", mode or "none", str(after),
                          portfile], env=env)
    for _ in range(400):
        if os.path.exists(portfile):
            break
        time.sleep(0.025)
    return p, "127.0.0.1:" + open(portfile).read()


def stop(p):
    p.kill()
    p.wait()


def run(*args, timeout=120):
    t0 = time.monotonic()
    r = subprocess.run([IAMP] + list(args), capture_output=True, text=True, timeout=timeout)
    return r, time.monotonic() - t0


def write_questions():
    path = os.path.join(TMP, "q.txt")
    with open(path, "w") as f:
        f.write("facts: 0 3, 3 1, 1 0, 2 2, 4 5, 5 6, 6 7, 7 8, 8 4\n")
        for x, k in [(0, 5), (4, 3), (2, 15), (7, 1), (5, 8)]:
            f.write("pow x=%d k=%d\n" % (x, k))
    return path


def params_of(path):
    f = pb.CheckpointFile()
    f.ParseFromString(open(path, "rb").read())
    c = pb.Checkpoint()
    c.ParseFromString(f.payload)
    return c


def test_equal(q):
    p, addr = start_overseer()
    for depth in ("0", "1", "3"):
        a, _ = run("answer", "--task", TASK, "--depth", depth, q)
        b, _ = run("answer", "--task", "remote:addr=" + addr, "--depth", depth, q)
        check(a.returncode == 0 and b.returncode == 0 and a.stdout == b.stdout and a.stdout,
              "answers at depth %s equal the built-in task's" % depth)
    for name, task in (("builtin", TASK), ("remote", "remote:addr=" + addr)):
        r, _ = run("train", "--task", task, "--algo", "imitate", "--rounds", "6", "--seed", "5",
                   "--threads", "1", "--checkpoint-dir", os.path.join(TMP, "eq-" + name))
        check(r.returncode == 0, "train with the %s H: %s" % (name, r.stderr.strip()[-200:]))
    a = params_of(os.path.join(TMP, "eq-builtin", "checkpoint.pb"))
    b = params_of(os.path.join(TMP, "eq-remote", "checkpoint.pb"))
    check(a.params == b.params and a.adam_m == b.adam_m and a.round == b.round == 6,
          "6 rounds of IA with the remote H give the built-in H's parameters bit for bit")
    stop(p)


FAULTS = [
    ("hang", "no reply within 2 s"),
    ("count", "replies to a batch of"),
    ("run", "replied for run"),
    ("badask", "asked a malformed question"),
    ("badanswer", "outside the question's answer space"),
    ("primask", "replied ASK to a PRIMITIVE call"),
    ("manyasks", "questions in all, the task allows 3"),
    ("text", "does not parse"),
    ("error", "H raised ValueError: bad fact"),
    ("garbage", "not an OverseerReplies message"),
]


def test_faults(q):
    for mode, why in FAULTS:
        p, addr = start_overseer(mode)
        r, secs = run("answer", "--task", "remote:addr=%s,timeout=2" % addr, "--depth", "1", q)
        err = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ""
        check(r.returncode != 0 and not r.stdout and "faulty at " + addr in err and why in err
              and secs < 30,
              "%s: fails in %.1f s with one line naming the overseer: %s" % (mode, secs, err))
        stop(p)
    p, addr = start_overseer("textok")
    a, _ = run("answer", "--task", TASK, "--depth", "3", q)
    b, _ = run("answer", "--task", "remote:addr=" + addr, "--depth", "3", q)
    check(b.returncode == 0 and a.stdout == b.stdout, "asks given by text are parsed by the task")
    stop(p)
    for mode, why in (("refuse", "it refused: not today"), ("badtask", "unknown task 'nosuch'")):
        p, addr = start_overseer(mode)
        r, _ = run("answer", "--task", "remote:addr=" + addr, q)
        check(r.returncode != 0 and why in r.stderr and addr in r.stderr,
              "%s: %s" % (mode, r.stderr.strip()))
        stop(p)
    r, _ = run("answer", "--task", "remote:addr=127.0.0.1:1", q)
    check(r.returncode != 0 and "cannot connect to 127.0.0.1:1" in r.stderr,
          "no overseer: %s" % r.stderr.strip())
    r, _ = run("answer", "--task", "remote:timeout=3", q)
    check(r.returncode != 0 and "addr=HOST:PORT" in r.stderr, "no addr: %s" % r.stderr.strip())


def test_nothing_trained():
    """A bad answer from batch B on: the first rounds train, then the run
    fails; the checkpoint equals a good run's of as many rounds."""
    ck = os.path.join(TMP, "bad")
    p, addr = start_overseer("badanswer", after=40)
    r, _ = run("train", "--task", "remote:addr=" + addr, "--algo", "imitate", "--rounds", "50",
               "--seed", "5", "--threads", "1", "--checkpoint-dir", ck, "--checkpoint-every",
               "1", "--eval-every", "1000")
    stop(p)
    check(r.returncode != 0 and "outside the question's answer space" in r.stderr,
          "a bad answer mid-training fails the run: %s" % r.stderr.strip().splitlines()[-1:])
    got = params_of(os.path.join(ck, "checkpoint.pb"))
    rounds = got.round
    ref = os.path.join(TMP, "ref")
    r, _ = run("train", "--task", TASK, "--algo", "imitate", "--rounds", str(rounds), "--seed",
               "5", "--threads", "1", "--checkpoint-dir", ref, "--eval-every", "1000")
    want = params_of(os.path.join(ref, "checkpoint.pb"))
    check(0 < rounds < 50 and got.params == want.params and got.adam_v == want.adam_v,
          "the checkpoint after the failure is round %d's of a good run, bit for bit" % rounds)


def test_killed():
    p, addr = start_overseer()
    ck = os.path.join(TMP, "killed")
    iamp = subprocess.Popen([IAMP, "train", "--task", "remote:addr=" + addr, "--algo", "imitate",
                             "--rounds", "100000", "--seed", "5", "--threads", "1",
                             "--checkpoint-dir", ck, "--checkpoint-every", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(600):
        if os.path.exists(os.path.join(ck, "checkpoint.pb")):
            break
        time.sleep(0.05)
    time.sleep(1.0)
    t0 = time.monotonic()
    stop(p)
    try:
        out, err = iamp.communicate(timeout=60)
        secs = time.monotonic() - t0
    except subprocess.TimeoutExpired:
        iamp.kill()
        out, err = iamp.communicate()
        secs = 1e9
    last = err.strip().splitlines()[-1] if err.strip() else ""
    check(iamp.returncode not in (0, None) and secs < 60 and addr in last and "overseer" in last,
          "overseer killed: train ends in %.1f s: %s" % (secs, last))
    port = int(addr.rsplit(":", 1)[1])
    p, addr2 = start_overseer(port=port)
    done = params_of(os.path.join(ck, "checkpoint.pb")).round
    r, _ = run("train", "--task", "remote:addr=" + addr2, "--algo", "imitate", "--rounds",
               str(done + 2), "--seed", "5", "--threads", "1", "--checkpoint-dir", ck,
               "--resume")
    check(r.returncode == 0 and params_of(os.path.join(ck, "checkpoint.pb")).round == done + 2,
          "the overseer restarted: --resume finishes (%s)" % r.stderr.strip()[-200:])
    stop(p)


def test_serve(q):
    p, addr = start_overseer()
    port = int(addr.rsplit(":", 1)[1])
    data = os.path.join(TMP, "data")
    portfile = os.path.join(TMP, "serve.port")
    srv = subprocess.Popen([IAMP, "serve", "--listen", "127.0.0.1:0", "--port-file", portfile,
                            "--data-dir", data, "--task", "remote:addr=%s,timeout=5" % addr],
                           stderr=subprocess.PIPE, text=True)
    for _ in range(400):
        if os.path.exists(portfile) and open(portfile).read():
            break
        time.sleep(0.05)
    saddr = "127.0.0.1:" + open(portfile).read().strip()
    r, _ = run("submit", "--addr", saddr, "--wait", "--depth", "1", q)
    check(r.returncode == 0 and r.stdout.count("\n") == 5, "serve: an answer job on the remote H")
    r, _ = run("submit", "--addr", saddr, "--kind", "train", "--algo", "imitate", "--rounds",
               "100000", "--questions", "64")
    job = r.stdout.strip()
    time.sleep(1.5)
    stop(p)
    r, secs = run("watch", "--addr", saddr, job, timeout=90)
    last = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
    st, _ = run("status", "--addr", saddr, job)
    check("train failed" in last and "overseer" in st.stdout and addr in st.stdout,
          "serve: the train job fails naming the overseer: %s" % st.stdout.strip())
    r, _ = run("info", "--addr", saddr)
    check(r.returncode == 0, "serve: the server still answers info")
    r, _ = run("submit", "--addr", saddr, "--wait", "--depth", "0", q)
    check(r.returncode == 0 and r.stdout.count("\n") == 5,
          "serve: depth-0 answer jobs (M alone) still run")
    r, _ = run("submit", "--addr", saddr, "--wait", "--depth", "1", q)
    check(r.returncode != 0, "serve: a depth-1 job without the overseer fails")
    p, _ = start_overseer(port=port)
    r, _ = run("submit", "--addr", saddr, "--wait", "--depth", "1", q)
    check(r.returncode == 0 and r.stdout.count("\n") == 5,
          "serve: with the overseer back, depth-1 jobs run again")
    stop(p)
    srv.send_signal(signal.SIGTERM)
    srv.wait(timeout=30)


def main():
    global IAMP, TMP
    if len(sys.argv) == 5 and sys.argv[1] == "--serve":
        mode = "" if sys.argv[2] == "none" else sys.argv[2]
        serve(mode, int(sys.argv[3]), sys.argv[4])
        return 0
    IAMP = os.path.abspath(sys.argv[1])
    TMP = tempfile.mkdtemp(prefix="iamp-ovf-")
    try:
        q = write_questions()
        test_equal(q)
        test_faults(q)
        test_nothing_trained()
        test_killed()
        test_serve(q)
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    if FAILS:
        print("%d checks failed" % len(FAILS))
        return 1
    print("remote overseer faults: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
