#!/usr/bin/env python3
"""compare-domains.py — the table and plot of `COMPARE_TASKS="trajectory
markov graph" scripts/compare-algos`: reads runs/compare-domains/*.jsonl and
writes docs/results/domains.md and the gnuplot script for domains.png.

Usage (scripts/compare-algos runs it): compare-domains.py RUNS OUTDIR
COMMAND JOBS
"""
import glob
import json
import os
import sys

ORDER = ["imitate", "reinforce", "supervised"]
TASKS = [
    ("trajectory", "trajectory: token sequences (σ(x) … σ^L(x), L ≤ 32; headline: exact match, "
     "1024 held-out questions)", ["token_accuracy"]),
    ("markov", "markov: continuous answers (P(chain in t after k ≤ 32 steps from u), 8 states; "
     "headline: share within 0.01, 1024 held-out questions)", ["mae"]),
    ("graph", "graph: shortest paths, 256 vertices, 512 edges (a large discrete domain; "
     "headline: dist and step questions together, 2048 held-out)", ["accuracy_dist",
                                                                    "accuracy_step"]),
]


def fmt(x, spec=".4f"):
    return "–" if x is None else format(x, spec)


def first(evald, level):
    hit = next((r for r in evald if r["accuracy"] >= level), None)
    return hit["examples"] if hit else None


def warmup_of(opts_path):
    """The --warmup a run was given (the last one in its options), or 0."""
    words = open(opts_path).read().split() if os.path.exists(opts_path) else []
    vals = [int(words[i + 1]) for i, w in enumerate(words[:-1]) if w == "--warmup"]
    return vals[-1] if vals else 0


def load(path):
    recs = [json.loads(line) for line in open(path)]
    return recs, [r for r in recs if r["accuracy"] is not None]


def row_of(path, warm_rounds):
    recs, evald = load(path)
    last = evald[-1]
    with open(path[:-6] + ".dat", "w") as f:
        for r in evald:
            f.write(f"{r['examples']} {r['accuracy']}\n")
    at_warm = None
    if warm_rounds:
        hit = [r for r in evald if r["round"] <= warm_rounds]
        at_warm = hit[-1] if hit else None
    approval = next((r["approval"] for r in reversed(recs) if r["approval"] is not None), None)
    return dict(final=last["accuracy"], examples=last["examples"], seconds=last["seconds"],
                e90=first(evald, 0.90), e95=first(evald, 0.95), last=last, at_warm=at_warm,
                best=max(r["accuracy"] for r in evald), approval=approval,
                dat=path[:-6] + ".dat")


def task_options(runs, task, name):
    """The run's options as compare-algos wrote them, without --algo."""
    opts = glob.glob(f"{runs}/{task}-{name}-s*.opts")
    words = open(opts[0]).read().split() if opts else []
    keep = []
    for w in words:
        if keep and keep[-1] == "--algo":
            keep.pop()
            continue
        keep.append(w)
    last = json.loads(open(opts[0][:-5] + ".jsonl").read().splitlines()[-1])["round"] if opts else 0
    return " ".join(keep + ["--rounds", str(last), "--lr-decay-rounds", str(last)])


def main():
    runs, outdir, command, jobs = sys.argv[1:5]
    rows = {}
    for path in sorted(glob.glob(f"{runs}/*.jsonl")):
        tag = os.path.basename(path)[:-6]
        task, rest = tag.split("-", 1)
        name, seed = rest.rsplit("-s", 1)
        warm = warmup_of(path[:-6] + ".opts") if name == "reinforce" else 0
        rows[(task, name, seed)] = row_of(path, warm)
    out = ["# Answer domains: sequences, continuous answers, a large discrete domain\n",
           f"Made by `{command}` ({jobs} runs in parallel on this machine's 2 shared cores, so "
           "wall times include contention). Each task's options are under its title; "
           "`iamp train` defaults otherwise (depth 1, 256 questions a round, M 32/512/2); "
           "no ground truth in any run's training except "
           "supervised's. reinforce starts from imitation: its first half of the rounds "
           "imitates (`--warmup`), then REINFORCE with the reward at the end (the approval "
           "by comparison with the amplified answer) and, for token sequences, the value "
           "baseline per prefix.\n",
           "Columns: final held-out accuracy and its ratio to supervised's; the best accuracy "
           "of any evaluation; examples (questions sampled) at the first evaluation at "
           "≥ 90% / ≥ 95%; the task's own metrics at the end; for reinforce, the accuracy "
           "at the end of its imitation warm-up; wall seconds; mean amplified approval of M's "
           "greedy answers in the last round.\n"]
    for task, title, metrics in TASKS:
        names = sorted({k[1] for k in rows if k[0] == task}, key=ORDER.index)
        if not names:
            continue
        sup = [v["final"] for k, v in rows.items() if k[0] == task and k[1] == "supervised"]
        sup = sum(sup) / len(sup) if sup else None
        out.append(f"\n## {title}\n")
        out.append(f"Options (besides `--algo`): `{task_options(runs, task, names[0])}`.\n")
        cols = " | ".join(metrics)
        out.append(f"| mode | seed | final accuracy | × supervised | best | examples to 90% | "
                   f"examples to 95% | {cols} | after warm-up | wall s | approval |")
        out.append("|---|---|---|---|---|---|---|" + "---|" * len(metrics) + "---|---|---|")
        for name in names:
            for key in sorted(k for k in rows if k[0] == task and k[1] == name):
                v = rows[key]
                ratio = fmt(v["final"] / sup, ".3f") if sup else "–"
                e90 = str(v["e90"]) if v["e90"] else "not reached"
                e95 = str(v["e95"]) if v["e95"] else "not reached"
                mvals = " | ".join(fmt(v["last"].get(m)) for m in metrics)
                warm = v["at_warm"]
                warm_s = (f"{warm['accuracy']:.4f} (round {warm['round']})" if warm else "–")
                out.append(f"| {name} | {key[2]} | {v['final']:.4f} | {ratio} | {v['best']:.4f} | "
                           f"{e90} | {e95} | {mvals} | {warm_s} | {v['seconds']:.0f} | "
                           f"{fmt(v['approval'], '.3f')} |")
        budget = max(v["examples"] for k, v in rows.items() if k[0] == task)
        out.append(f"\nBudget: {budget} examples per run.\n")
    out.append("\n![accuracy against examples](domains.png)\n")
    text = "\n".join(out)
    open(os.path.join(outdir, "domains.md"), "w").write(text)
    print(text)

    present = [t for t in TASKS if any(k[0] == t[0] for k in rows)]
    plot = [f"set terminal pngcairo size {470 * max(len(present), 1)},480 font 'sans,10'",
            f"set output '{os.path.join(outdir, 'domains.png')}'",
            f"set multiplot layout 1,{max(len(present), 1)}",
            "set grid", "set key bottom right", "set yrange [0:1.02]",
            "set format x '%.1s%c'",  # 2.5M rather than 2.5x10^6 (graph's millions)
            "set xtics rotate by 30 right",
            "set xlabel 'training examples (questions)'", "set ylabel 'held-out accuracy'"]
    seeds = sorted({k[2] for k in rows})[:1]
    for task, title, _ in present:
        curves = [(n, rows[(task, n, s)]["dat"]) for n in ORDER for s in seeds
                  if (task, n, s) in rows]
        plot.append(f"set title '{task}'")
        # one colour per mode in every panel
        plot.append("plot " + ", ".join(f"'{d}' using 1:2 with lines lw 2 lc {ORDER.index(n) + 1} "
                                        f"title '{n}'" for n, d in curves))
    plot.append("unset multiplot")
    open(f"{runs}/domains.gp", "w").write("\n".join(plot) + "\n")


if __name__ == "__main__":
    main()
