#!/usr/bin/python3
"""permpow's overseer H in Python, for `permpow:context=1` (tasks/permpow.c).

The same decomposition as the C task's, so that iamp builds the same
targets question by question: "pow x=X k=K" with K = 1 is a primitive
(read x's fact); otherwise ask y = sigma^(K/2)(X), then z = sigma^(K/2)(y),
and when K is odd ask sigma(z), a K = 1 question this H answers itself
(its primitive), so that every fact the answer uses is a subanswer in the
transcript. With approve=1,
"approve x=X k=K a=A" is judged the same way and answered yes when the
power equals A.

Tokens (as tasks/permpow.c): element e is token e (0..n-1), the power K is
token n + K - 1, the verdicts no/yes are n + kmax and n + kmax + 1.

    PYTHONPATH=python python3 python/examples/permpow.py --listen 127.0.0.1:0
    iamp train --task remote:addr=127.0.0.1:PORT ...
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import iamp  # noqa: E402
from iamp import Question  # noqa: E402

POW, APPROVE = 0, 1


def parse_spec(spec):
    """permpow:context=1[,n=N,kmax=K,approve=A] -> (n, kmax, approve)."""
    name, _, params = spec.partition(":")
    if name != "permpow":
        raise ValueError("task %r: this overseer is permpow's" % spec)
    kv = {}
    for item in filter(None, params.split(",")):
        k, sep, v = item.partition("=")
        if not sep or not v.isdigit() or k not in ("n", "kmax", "approve", "context"):
            raise ValueError("task %r: %r is not n=, kmax=, approve= or context=" % (spec, item))
        kv[k] = int(v)
    if kv.get("context") != 1:
        # Without facts sigma comes from iamp's RNG and the task seed, which
        # this file does not reproduce.
        raise ValueError("task %r: this overseer needs context=1 (sigma as facts)" % spec)
    n = kv.get("n", 16)
    kmax = kv.get("kmax", min(63, n - 1))
    if not 2 <= n <= 128 or not 1 <= kmax <= 1023 or kv.get("approve", 0) not in (0, 1):
        raise ValueError("task %r: n in [2, 128], kmax in [1, 1023], approve 0 or 1" % spec)
    return n, kmax, kv.get("approve", 0)


def sigma(facts, x):
    """x's image in the instance; 0 when x has no fact (as the C task)."""
    for f in facts:
        if f[0] == x:
            return f[1]
    return 0


class PermPow(iamp.Overseer):
    task = "permpow:context=1"

    def __init__(self, task=None):
        if task is not None:
            self.task = task
        self.n, self.kmax, approve = parse_spec(self.task)
        self.no = self.n + self.kmax  # the verdict "no"; "yes" is no + 1
        # Only k = 1 questions are primitive, but both types have them.
        self.primitive_types = (POW, APPROVE) if approve else (POW,)

    @classmethod
    def add_arguments(cls, parser):
        parser.add_argument("--task", default=cls.task,
                            help="the task spec (default %(default)s; approve=1 adds the "
                            "approve type)")

    @classmethod
    def from_args(cls, args):
        return cls(args.task)

    def _result(self, q, y):
        if q.type == APPROVE:
            return [self.no + (y == q.tokens[2])]
        return [y]

    def primitive(self, q):
        if q.tokens[1] != self.n:  # k = 1 is token n
            return None
        return self._result(q, sigma(q.facts, q.tokens[0]))

    def element(self, a):
        """An element from a subanswer: a bad one reads as 0 (as the C H)."""
        t = a.tokens
        return t[0] if t and t[0] < self.n else 0

    def answer(self, q):
        n = self.n
        x, k = q.tokens[0], q.tokens[1] - n + 1
        if k == 1:  # only where k = 1 is not asked as a primitive
            return self._result(q, sigma(q.facts, x))
        half = n + k // 2 - 1
        y = self.element((yield Question(POW, (x, half))))
        z = self.element((yield Question(POW, (y, half))))
        if k & 1:
            z = self.element((yield Question(POW, (z, n))))  # sigma(z): k = 1, H's own
        return self._result(q, z)


if __name__ == "__main__":
    sys.exit(PermPow.main())
