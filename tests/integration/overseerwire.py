"""overseerwire — the iamp side of the remote overseer conversation, for
tests: start an overseer process, speak to it as `--task remote:` does
(proto/iamp.proto, "remote overseer"), and a small batched engine that
amplifies questions through it the way iamp's engine routes them.
"""
import os
import select
import socket
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PYDIR = os.path.normpath(os.path.join(HERE, "..", "..", "python"))
sys.path.insert(0, PYDIR)
from iamp import pb  # noqa: E402

PY = "/usr/bin/python3"


def start(args, stdin=None, env=None):
    """Start an overseer process (argv after python3); (process, "HOST:PORT")
    once it printed `listening on HOST:PORT`, its other stdout lines after."""
    e = dict(os.environ, PYTHONPATH=PYDIR, PYTHONUNBUFFERED="1", **(env or {}))
    p = subprocess.Popen([PY, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=stdin, env=e, text=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        r, _, _ = select.select([p.stdout], [], [], 0.5)
        if r:
            line = p.stdout.readline()
            if line.startswith("listening on "):
                return p, line.split()[-1]
            if not line:
                break
        if p.poll() is not None:
            break
    p.kill()
    raise RuntimeError("overseer %s did not print its address: %s" % (args, p.stderr.read()))


def stop(p, timeout=10):
    """SIGTERM p; its exit status (None if it had to be killed)."""
    p.terminate()
    try:
        return p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        return None


class Conn:
    """One connection to an overseer, as iamp holds one."""

    def __init__(self, addr, timeout=30):
        host, port = addr.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)

    def close(self):
        self.sock.close()

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, msg):
        payload = msg.SerializeToString()
        self.sock.sendall(struct.pack(">I", len(payload)) + payload)

    def recv_raw(self):
        """A frame's payload, or None when the overseer closed."""
        head = self._exact(4)
        if head is None:
            return None
        n = struct.unpack(">I", head)[0]
        return self._exact(n)

    def _exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf

    def recv(self, cls):
        data = self.recv_raw()
        if data is None:
            raise EOFError("the overseer closed the connection")
        m = cls()
        m.ParseFromString(data)
        return m

    def hello(self, version=1):
        self.send(pb.OverseerHello(version=version))
        return self.recv(pb.OverseerSchema)

    def batch(self, run, calls, contexts=(), ended=()):
        """calls: OverseerCall messages; contexts: tuples of facts."""
        b = pb.OverseerBatch(run=run, ended_runs=list(ended))
        b.calls.extend(calls)
        for facts in contexts:
            b.contexts.add(fact_len=len(facts[0]), tokens=[t for f in facts for t in f])
        self.send(b)
        return self.recv(pb.OverseerReplies)


def call(kind, episode, qtype=None, tokens=None, context=None, answers=None, text=None):
    c = pb.OverseerCall(kind=kind, episode=episode)
    if qtype is not None or text is not None:
        q = c.question
        q.SetInParent()
        if qtype is not None:
            q.type = qtype
            q.tokens.extend(tokens)
        if context is not None:
            q.context = context
        if text is not None:
            q.text = text
    for a in answers or ():
        c.answers.add(tokens=list(a))
    return c


class Engine:
    """Amplify questions through an overseer with iamp's routing: a node
    with depth left gets CALL_START (then CALL_STEP with its asks'
    answers); a leaf gets CALL_PRIMITIVE, and `leaf` (M) answers it when
    it is not primitive. Every pending call of a pass goes in one batch."""

    def __init__(self, conn, run, leaf):
        self.conn, self.run, self.leaf = conn, run, leaf
        self.next_ep = 1
        self.asks = []          # per root of the last amplify: [(question, [asks])]
        self.leaf_calls = 0
        self.batches = 0
        self.calls = 0

    def amplify(self, roots, contexts, depth):
        """roots: (type, tokens, context index); their answers' tokens."""
        nodes = []
        for r in roots:
            nodes.append(dict(q=(r[0], tuple(r[1])), ctx=r[2], depth=depth, parent=None,
                              slot=0, answer=None, kids=None, ep=None, todo="start", asks=[]))
        self.asks = [nd["asks"] for nd in nodes]
        pending = list(nodes)
        while pending:
            calls = []
            for nd in pending:
                if nd["ep"] is None:
                    nd["ep"] = self.next_ep
                    self.next_ep += 1
                if nd["todo"] == "step":
                    calls.append(call(pb.CALL_STEP, nd["ep"],
                                      answers=[k["answer"] for k in nd["kids"]]))
                else:
                    kind = pb.CALL_START if nd["depth"] > 0 else pb.CALL_PRIMITIVE
                    calls.append(call(kind, nd["ep"], nd["q"][0], nd["q"][1], nd["ctx"]))
            rep = self.conn.batch(self.run, calls, contexts)
            self.batches += 1
            self.calls += len(calls)
            if rep.HasField("error"):
                raise RuntimeError("overseer error: " + rep.error)
            assert rep.run == self.run and len(rep.replies) == len(calls), rep
            nxt = []
            for nd, r in zip(pending, rep.replies):
                if r.kind == pb.REPLY_NOT_PRIMITIVE:
                    self.leaf_calls += 1
                    self._done(nd, tuple(self.leaf(nd["q"], nd["ctx"])), nxt)
                elif r.kind == pb.REPLY_DONE:
                    self._done(nd, tuple(r.answer.tokens), nxt)
                elif r.kind == pb.REPLY_ASK:
                    asked = [(a.type, tuple(a.tokens)) for a in r.asks]
                    nd["asks"].append((nd["q"], asked))
                    nd["kids"] = [dict(q=q, ctx=nd["ctx"], depth=nd["depth"] - 1, parent=nd,
                                       slot=i, answer=None, kids=None, ep=None, todo="start",
                                       asks=[])
                                  for i, q in enumerate(asked)]
                    nxt.extend(nd["kids"])
                else:
                    raise RuntimeError("reply kind %d" % r.kind)
            pending = nxt
        return [nd["answer"] for nd in nodes]

    def _done(self, nd, tokens, nxt):
        nd["answer"] = tokens
        p = nd["parent"]
        if p is not None and all(k["answer"] is not None for k in p["kids"]):
            p["todo"] = "step"
            nxt.append(p)
