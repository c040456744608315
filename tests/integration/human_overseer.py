#!/usr/bin/python3
"""python/examples/human_overseer.py driven by scripted input, a real
process on real TCP spoken to as `iamp --task remote:` does:

- the schema: the task from its command line, want_text, no primitive types;
- one question answered directly, one split into asks over two steps (a
  dropped ask is not sent; each step's answers are shown); bad input
  (unknown commands, answers that are not tokens, go with no asks) gets a
  message and a new prompt;
- the demonstrations file holds one line per finished episode: question,
  facts, answer, steps; a task without facts has no "facts";
- when the input ends, a call gets an error reply; SIGTERM ends it with 0;
- end to end with `iamp answer --task remote:addr=...,timeout=0`: the
  person's asks (by text) are parsed by iamp, M's answers to them come back
  with their text, and the person's answers are iamp's output.

Usage: human_overseer.py path/to/iamp
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import overseerwire as ow  # noqa: E402
from overseerwire import pb  # noqa: E402

HUMAN = os.path.join(ow.PYDIR, "examples", "human_overseer.py")
FAILS = []


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL:", what, flush=True)
    return cond


def step(ep, answers):
    c = pb.OverseerCall(kind=pb.CALL_STEP, episode=ep)
    for toks, text in answers:
        c.answers.add(tokens=list(toks), text=text)
    return c


def with_facts(tmp):
    record = os.path.join(tmp, "demos.jsonl")
    script = "\n".join([
        # question 1: pow x=3 k=1, answered directly
        "hello", "answer", "answer one", "", "help", "answer 1",
        # question 2: pow x=0 k=2, two steps
        "go", "ask", "ask pow x=0 k=1", "ask pow x=9 k=1", "drop", "show", "go",
        "ask pow x=3 k=1", "go",
        "answer 1",
    ]) + "\n"
    p, addr = ow.start([HUMAN, "--task", "permpow:context=1", "--record", record,
                        "--listen", "127.0.0.1:0"], stdin=subprocess.PIPE)
    p.stdin.write(script)
    p.stdin.close()  # all of it is there; then the input ends
    facts = ((0, 3), (3, 1), (1, 0))
    conn = ow.Conn(addr)
    s = conn.hello()
    check(s.task == "permpow:context=1" and s.want_text and s.name == "human" and
          s.HasField("primitive_types") and s.primitive_types == 0, "schema: %s" % s)
    rep = conn.batch(1, [ow.call(pb.CALL_START, 1, 0, (3, 16), 0, text="pow x=3 k=1"),
                         ow.call(pb.CALL_START, 2, 0, (0, 17), 0, text="pow x=0 k=2")],
                     [facts])
    r1, r2 = rep.replies if len(rep.replies) == 2 else (None, None)
    check(r1 is not None and r1.kind == pb.REPLY_DONE and list(r1.answer.tokens) == [1] and
          not r1.primitive, "question 1 answered directly: %s" % rep)
    check(r2 is not None and r2.kind == pb.REPLY_ASK and [a.text for a in r2.asks] ==
          ["pow x=0 k=1"] and not r2.asks[0].tokens, "question 2 asks: %s" % rep)
    rep = conn.batch(1, [step(2, [((3,), "3")])])
    check(len(rep.replies) == 1 and rep.replies[0].kind == pb.REPLY_ASK and
          [a.text for a in rep.replies[0].asks] == ["pow x=3 k=1"], "second step: %s" % rep)
    rep = conn.batch(1, [step(2, [((1,), "1")])])
    check(len(rep.replies) == 1 and rep.replies[0].kind == pb.REPLY_DONE and
          list(rep.replies[0].answer.tokens) == [1], "question 2 answered: %s" % rep)
    # the input has ended: an error, not a hang
    rep = conn.batch(2, [ow.call(pb.CALL_START, 1, 0, (1, 16), 0, text="pow x=1 k=1")],
                     [facts])
    check(rep.HasField("error") and "input ended" in rep.error and "pow x=1 k=1" in rep.error,
          "after the input ended: %s" % rep)
    conn.close()
    rc = ow.stop(p)
    out, err = p.stdout.read(), p.stderr.read()
    check(rc == 0 and not err, "SIGTERM: exit %s, stderr %r" % (rc, err))
    for want in ("question 1: pow x=3 k=1", "facts: 0 3, 3 1, 1 0", "unknown command 'hello'",
                 "answer what?", "'one' is not a token", "ask TEXT first", "ask what?",
                 "dropped: pow x=9 k=1", "to ask: pow x=0 k=1", "asked pow x=0 k=1 -> 3",
                 "asked pow x=3 k=1 -> 1", "question 2: pow x=0 k=2", "commands:"):
        check(want in out, "the terminal shows %r:\n%s" % (want, out))
    with open(record) as f:
        lines = [json.loads(line) for line in f]
    check(lines == [
        {"question": "pow x=3 k=1", "facts": "facts: 0 3, 3 1, 1 0", "answer": [1],
         "steps": []},
        {"question": "pow x=0 k=2", "facts": "facts: 0 3, 3 1, 1 0", "answer": [1],
         "steps": [{"asks": ["pow x=0 k=1"], "answers": [[3]]},
                   {"asks": ["pow x=3 k=1"], "answers": [[1]]}]},
    ], "demonstrations: %s" % lines)


def without_facts(tmp):
    record = os.path.join(tmp, "plain.jsonl")
    with open(record, "w") as f:  # appended to, never truncated
        f.write('{"question": "pow x=1 k=1", "answer": [2], "steps": []}\n')
    p, addr = ow.start([HUMAN, "--task", "permpow:n=8", "--record", record],
                       stdin=subprocess.PIPE)
    p.stdin.write("answer 4\n")
    p.stdin.flush()
    conn = ow.Conn(addr)
    conn.hello()
    rep = conn.batch(1, [ow.call(pb.CALL_START, 1, 0, (2, 9), text="pow x=2 k=2")])
    check(len(rep.replies) == 1 and list(rep.replies[0].answer.tokens) == [4],
          "no facts: %s" % rep)
    conn.close()
    check(ow.stop(p) == 0, "no facts: SIGTERM")
    with open(record) as f:
        lines = [json.loads(line) for line in f]
    check(lines[1:] == [{"question": "pow x=2 k=2", "answer": [4], "steps": []}]
          and len(lines) == 2, "no facts: demonstrations %s" % lines)


def with_iamp(iamp, tmp):
    record = os.path.join(tmp, "iamp.jsonl")
    qfile = os.path.join(tmp, "q.txt")
    with open(qfile, "w") as f:
        f.write("facts: 0 3, 3 1, 1 0\npow x=0 k=2\npow x=1 k=1\n")
    p, addr = ow.start([HUMAN, "--task", "permpow:context=1", "--record", record],
                       stdin=subprocess.PIPE)
    # iamp starts both roots in one batch: the first asks, the second is answered
    p.stdin.write("ask pow x=0 k=1\ngo\nanswer 0\nanswer 1\n")
    p.stdin.close()
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    r = subprocess.run([iamp, "answer", "--task", "remote:addr=%s,timeout=0" % addr,
                        "--depth", "1", qfile], capture_output=True, text=True, env=env,
                       timeout=120)
    out = [json.loads(line) for line in r.stdout.splitlines()]
    check(r.returncode == 0 and [(o["question"], o["answer"]) for o in out] ==
          [("pow x=0 k=2", "1"), ("pow x=1 k=1", "0")],
          "iamp answer through a person: exit %d, %s %r" % (r.returncode, out, r.stderr))
    check(ow.stop(p) == 0, "iamp: SIGTERM")
    shown = p.stdout.read()
    with open(record) as f:
        lines = [json.loads(line) for line in f]
    # in the order the episodes finished: the second root's first
    m = lines[1]["steps"][0]["answers"][0] if len(lines) == 2 and lines[1]["steps"] else None
    check(len(lines) == 2 and lines[1]["question"] == "pow x=0 k=2" and
          lines[1]["steps"][0]["asks"] == ["pow x=0 k=1"] and lines[1]["answer"] == [1] and
          lines[0] == {"question": "pow x=1 k=1", "facts": "facts: 0 3, 3 1, 1 0",
                       "answer": [0], "steps": []}, "iamp: demonstrations %s" % lines)
    check(m is not None and "asked pow x=0 k=1 -> %d" % m[0] in shown,
          "iamp: M's answer shown by its text:\n%s" % shown)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        with_facts(tmp)
        without_facts(tmp)
        if len(sys.argv) > 1:
            with_iamp(sys.argv[1], tmp)
    if FAILS:
        print("human_overseer: %d failures" % len(FAILS))
        return 1
    print("human_overseer: all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
