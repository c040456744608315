#!/usr/bin/env python3
"""torch_permpow.py — permpow's IA loop written in PyTorch, the reference
that scripts/bench-vs-torch measures `iamp train` against.

The same experiment as `iamp train --task permpow --algo imitate`, written
the way a PyTorch user would write it for speed (tensors throughout, no
per-question Python, inference mode off the training path):

- task: n = 64 elements, a permutation sigma fixed by the task seed; the
  question (x, k), k in [1, 63], asks for sigma^k(x); held-out set: 16
  questions per k (1008), drawn once from a stream training never uses.
- overseer H: k = 1 by lookup; else y = M(x, k // 2), z = M(y, k // 2),
  and sigma(z) when k is odd (a depth-1 amplification). Targets come from
  M_target, a copy of M refreshed every --target-sync rounds.
- curriculum on k: level d covers k <= 2^d - 1; the level rises once M's
  greedy answers agree with the round's targets on >= 85% over the last 3
  rounds (no ground truth); half of each round's questions pick a level
  uniformly, half pick k uniformly up to the level.
- M: an MLP over the one-hot question (embeddings of x and of k, which is
  one-hot times a matrix), --hidden wide, 2 hidden layers, a softmax over
  the 64 elements; Adam with gradient-norm clipping at 1, linear lr decay
  to 10% over --decay rounds. The defaults are permpow's in iamp
  (`--embed 0 --hidden 192 --lr 0.008`, minibatches of 128, 256 questions
  a round).
- every round: --questions questions in minibatches of --batch (one Adam
  step each); every --eval-every rounds M is measured greedy on the
  held-out set; the run ends at the first measurement >= 99%.

Ground truth is used only by the held-out measurement. Prints one JSON
object: the seed, threads, rounds, examples and wall seconds to 99% (or
null), measured from the first round (model set-up excluded).
"""
import argparse
import json
import sys
import time

import torch
import torch.nn as nn

N, KMAX, LEVELS = 64, 63, 6


def permutation(task_seed):
    g = torch.Generator().manual_seed(1000 + task_seed)
    return torch.randperm(N, generator=g)


def power(sigma, x, k):
    """sigma^k(x), elementwise, by repeated squaring on tensors (truth)."""
    out = x.clone()
    base = sigma.clone()
    k = k.clone()
    while bool((k > 0).any()):
        odd = (k & 1).bool()
        out = torch.where(odd, base[out], out)
        base = base[base]
        k = k >> 1
    return out


class M(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.ex = nn.Embedding(N, hidden)      # one-hot(x) @ W1[:N]
        self.ek = nn.Embedding(KMAX + 1, hidden)  # one-hot(k) @ W1[N:]
        self.b1 = nn.Parameter(torch.zeros(hidden))
        self.l2 = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, N)

    def forward(self, x, k):
        h = torch.relu(self.ex(x) + self.ek(k) + self.b1)
        h = torch.relu(self.l2(h))
        return self.out(h)


def sample(gen, level, count):
    hi = min((1 << level) - 1, KMAX)
    half = torch.randint(0, 2, (count,), generator=gen).bool()
    lv = torch.randint(1, level + 1, (count,), generator=gen)
    blo = torch.clamp(1 << (lv - 1), max=hi)
    bhi = torch.clamp((1 << lv) - 1, max=hi)
    by_level = blo + (torch.rand(count, generator=gen) * (bhi - blo + 1)).long()
    uniform = torch.randint(1, hi + 1, (count,), generator=gen)
    k = torch.where(half, by_level, uniform)
    x = torch.randint(0, N, (count,), generator=gen)
    return x, k


@torch.inference_mode()
def amplify(m, sigma, x, k):
    """H with M at the leaves (depth 1)."""
    half = torch.clamp(k // 2, min=1)
    y = m(x, half).argmax(1)
    z = m(y, half).argmax(1)
    z = torch.where((k & 1).bool(), sigma[z], z)
    return torch.where(k == 1, sigma[x], z)


@torch.inference_mode()
def accuracy(m, x, k, truth):
    return (m(x, k).argmax(1) == truth).float().mean().item()


def held_out(sigma):
    g = torch.Generator().manual_seed(12345)
    xs = torch.cat([torch.randperm(N, generator=g)[:16] for _ in range(KMAX)])
    ks = torch.arange(1, KMAX + 1).repeat_interleave(16)
    return xs, ks, power(sigma, xs, ks)


def run(a):
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    sigma = permutation(a.task_seed)
    ex, ek, et = held_out(sigma)
    gen = torch.Generator().manual_seed(a.seed)
    m = M(a.hidden)
    target = M(a.hidden)
    opt = torch.optim.Adam(m.parameters(), lr=a.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda r: max(1.0 - r / a.decay, 0.1))
    loss_fn = nn.CrossEntropyLoss()
    level, window = 1, []
    t0 = time.perf_counter()
    for rnd in range(a.rounds):
        if rnd % a.target_sync == 0:
            target.load_state_dict(m.state_dict())
        x, k = sample(gen, level, a.questions)
        y = amplify(target, sigma, x, k)
        with torch.inference_mode():
            agree = (m(x, k).argmax(1) == y).float().mean().item()
        window = (window + [agree])[-3:]
        if level < LEVELS and len(window) == 3 and sum(window) / 3 >= 0.85:
            level, window = level + 1, []
        order = torch.randperm(a.questions, generator=gen)
        for i in range(0, a.questions, a.batch):
            b = order[i:i + a.batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(m(x[b], k[b]), y[b])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
            opt.step()
        sched.step()
        if (rnd + 1) % a.eval_every == 0 and accuracy(m, ex, ek, et) >= 0.99:
            secs = time.perf_counter() - t0
            return {"rounds": rnd + 1, "examples": (rnd + 1) * a.questions, "seconds": secs}
    return {"rounds": a.rounds, "examples": a.rounds * a.questions, "seconds": None}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seed", type=int, default=1, help="training seed")
    p.add_argument("--task-seed", type=int, default=1, help="seed of the permutation")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--hidden", type=int, default=192)
    p.add_argument("--questions", type=int, default=256, help="questions per round")
    p.add_argument("--batch", type=int, default=128, help="minibatch size")
    p.add_argument("--lr", type=float, default=8e-3)
    p.add_argument("--decay", type=int, default=800, help="rounds of linear lr decay")
    p.add_argument("--target-sync", type=int, default=5)
    p.add_argument("--eval-every", type=int, default=10)
    p.add_argument("--rounds", type=int, default=3000, help="give up after this many")
    a = p.parse_args()
    r = run(a)
    r.update({"impl": "torch", "seed": a.seed, "threads": a.threads, "hidden": a.hidden,
              "batch": a.batch, "questions": a.questions})
    print(json.dumps(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
