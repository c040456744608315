#!/usr/bin/python3
"""A person as the overseer H, at a terminal; every finished episode is a
demonstration (the first step of IA: gather demonstrations from people).

    PYTHONPATH=python python3 python/examples/human_overseer.py \\
        --task permpow:context=1 --record demos.jsonl
    iamp answer --task remote:addr=127.0.0.1:PORT,timeout=0 --depth 1 FILE

(timeout=0: iamp waits for the person however long they take.)

For each question iamp starts, it shows the question's text (and its
facts); the person types `answer T T ...` (the answer's tokens, decimal),
or `ask <question text>` one or more times and then `go`: iamp answers
those subquestions (with M, or by asking again here) and they are shown,
and so on until the person answers. `help` lists the commands. Leaves are
M's (no question type is declared primitive), and calls are served one at
a time across connections, in the order they come.

--record FILE appends one JSON line per finished episode (flushed and
fsynced, so a crash loses at most the line being written), the form
`iamp train --demonstrations FILE` reads:

    {"question": "pow x=3 k=2", "facts": "facts: 0 3, 3 1, 1 0", "answer": [0],
     "steps": [{"asks": ["pow x=3 k=1"], "answers": [[1]]}, ...]}

("facts" only for tasks with facts; "steps" are for people, not training.)
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import iamp  # noqa: E402
from iamp import Answer, Question  # noqa: E402

HELP = """commands:
  answer T T ...   answer the question: its tokens, as decimal numbers
  ask TEXT         add a subquestion, in the task's syntax (e.g. pow x=3 k=2)
  drop             remove the last subquestion not yet sent
  go               send the subquestions; their answers are shown next
  show             show the question, its facts and the answers so far
  help             this list"""


def facts_text(facts):
    """The `facts:` line iamp's input uses: facts by commas, tokens by spaces."""
    return "facts: " + ", ".join(" ".join(str(t) for t in f) for f in facts)


def question_text(q):
    if q.text:
        return q.text
    return "type %d tokens %s" % (q.type, " ".join(str(t) for t in q.tokens))


def answer_text(a):
    toks = " ".join(str(t) for t in a.tokens)
    if a.text and a.text != toks:
        return "%s (tokens %s)" % (a.text, toks)
    return a.text or toks


class HumanOverseer(iamp.Overseer):
    name = "human"
    want_text = True
    serial = True          # one person: one call at a time
    primitive_types = ()   # leaves are M's; the person answers what iamp starts

    def __init__(self, task, record=None, inp=None, out=None):
        self.task = task
        self.inp = inp or sys.stdin
        self.out = out or sys.stdout
        self.record = open(record, "a", encoding="utf-8") if record else None
        self.shown = 0  # questions shown so far, to number them

    @classmethod
    def add_arguments(cls, parser):
        parser.add_argument("--task", required=True,
                            help="the built-in task this person is the H of "
                            "(e.g. permpow:context=1)")
        parser.add_argument("--record", metavar="FILE",
                            help="append each finished episode to FILE (JSONL)")

    @classmethod
    def from_args(cls, args):
        return cls(args.task, args.record)

    def say(self, *lines):
        for line in lines:
            self.out.write(line + "\n")
        self.out.flush()

    def read(self):
        """One line from the person; the episode fails when the input ends."""
        self.out.write("> ")
        self.out.flush()
        line = self.inp.readline()
        if not line:
            self.say("")
            raise iamp.OverseerError("the person's input ended")
        return line.strip()

    def show(self, no, q, steps, asks):
        if no == 1 and not steps:
            self.say("", "(type help for the commands)")
        self.say("", "question %d: %s" % (no, question_text(q)))
        if q.facts is not None:
            self.say("  " + facts_text(q.facts))
        for st in steps:
            for t, a in zip(st["asks"], st["answers_shown"]):
                self.say("  asked %s -> %s" % (t, a))
        for t in asks:
            self.say("  to ask: %s" % t)

    def answer(self, q):
        self.shown += 1
        no = self.shown
        steps, asks = [], []
        self.show(no, q, steps, asks)
        while True:
            cmd, _, rest = self.read().partition(" ")
            rest = rest.strip()
            if not cmd:
                continue
            if cmd in ("help", "?"):
                self.say(HELP)
            elif cmd == "show":
                self.show(no, q, steps, asks)
            elif cmd == "answer":
                tokens = self.tokens(rest)
                if tokens is not None:
                    self.save(q, tokens, steps)
                    return Answer(tuple(tokens))
            elif cmd == "ask":
                if not rest:
                    self.say("ask what? e.g. ask pow x=3 k=2 (the task's question syntax)")
                elif len(asks) == iamp.overseer.MAX_ASKS:
                    self.say("at most %d subquestions at a time: type go" % len(asks))
                else:
                    asks.append(rest)
            elif cmd == "drop":
                self.say("dropped: %s" % asks.pop() if asks else "no subquestion to drop")
            elif cmd == "go":
                if not asks:
                    self.say("no subquestions yet: ask TEXT first (or answer T ...)")
                    continue
                self.say("asking %d subquestion%s..." % (len(asks), "s"[:len(asks) != 1]))
                got = yield [Question(None, None, text=t) for t in asks]
                steps.append({"asks": asks, "answers": [list(a.tokens) for a in got],
                              "answers_shown": [answer_text(a) for a in got]})
                asks = []
                self.show(no, q, steps, asks)
            else:
                self.say("unknown command %r: type help" % cmd)

    def tokens(self, rest):
        words = rest.split()
        if not words:
            self.say("answer what? e.g. answer 5 (the answer's tokens, decimal)")
            return None
        if not all(w.isdigit() for w in words):
            bad = next(w for w in words if not w.isdigit())
            self.say("%r is not a token (a decimal number >= 0)" % bad)
            return None
        return [int(w) for w in words]

    def save(self, q, tokens, steps):
        if self.record is None:
            return
        line = {"question": question_text(q)}
        if q.facts is not None:
            line["facts"] = facts_text(q.facts)
        line["answer"] = tokens
        line["steps"] = [{"asks": s["asks"], "answers": s["answers"]} for s in steps]
        self.record.write(json.dumps(line) + "\n")
        self.record.flush()
        os.fsync(self.record.fileno())


if __name__ == "__main__":
    sys.exit(HumanOverseer.main())
