#!/usr/bin/env python3
"""trace_check.py ANSWERS TRACE [--k5] — an `iamp answer --trace` file
against the answers of the same run without --trace and against permpow's
H, worked out here independently:

- line i of TRACE is line i of ANSWERS plus "nodes" and "tree";
- every node is what H makes of its question: a root at depth 0 is M's
  alone; otherwise k = 1 is a primitive leaf
  answered by sigma(x); a node without depth left is a leaf M answers;
  any other is an overseer node with two children (k even) or three (k
  odd), step 1 asking pow x=X k=K/2, step 2 pow x=Y k=K/2 from Y, step
  1's answer, and for k odd step 3 pow x=Z k=1 from Z, step 2's answer (a
  primitive); its answer is the last step's answer;
- ids number a tree in pre-order from 0, parent ids and levels match the
  nesting, depth_left falls by one a level, "nodes" counts the tree;
- on facts, the root names its context and facts, and sigma is the facts'.

sigma comes from the facts, or else from ANSWERS' answers to every
`pow x=X k=1` (H's primitive lookups). --k5: ANSWERS holds a depth-1
`pow x=5 k=5`, whose tree must be pow x=5 k=2 and pow x=Y k=2, both M's,
and pow x=Z k=1, H's lookup.
Exit 1 with every failure listed.
"""
import json
import re
import sys

POW = re.compile(r"^pow x=(\d+) k=(\d+)$")
fails = []


def fail(msg):
    fails.append(msg)


def parse(q):
    m = POW.match(q)
    if not m:
        fail(f"not a pow question: {q!r}")
        return 0, 1
    return int(m.group(1)), int(m.group(2))


def sigma_of(record, sigma_global):
    if "facts" not in record:
        return sigma_global
    sigma = {}
    for fact in record["facts"].split(", "):
        x, y = fact.split()
        sigma[x] = y
    return sigma


def check_node(node, sigma, where, level, depth_left, parent_id, step, next_id):
    ident = f"{where} node {node.get('id')} ({node.get('question')})"
    if node.get("id") != next_id[0]:
        fail(f"{ident}: id {node.get('id')}, want {next_id[0]} (pre-order)")
    next_id[0] += 1
    if parent_id is None:
        if "parent" in node or "step" in node:
            fail(f"{ident}: a root with a parent or step")
    elif node.get("parent") != parent_id or node.get("step") != step:
        fail(f"{ident}: parent {node.get('parent')} step {node.get('step')}, "
             f"want {parent_id} {step}")
    if node.get("level") != level or node.get("depth_left") != depth_left:
        fail(f"{ident}: level {node.get('level')} depth_left {node.get('depth_left')}, "
             f"want {level} {depth_left}")
    x, k = parse(node["question"])
    kids = node.get("children")
    if not isinstance(kids, list):
        fail(f"{ident}: no children list")
        return 1
    if parent_id is None and depth_left == 0:
        if node["by"] != "model" or kids:
            fail(f"{ident}: a root at depth 0 is M's alone, got {node['by']}")
    elif k == 1:
        if node["by"] != "primitive" or kids:
            fail(f"{ident}: k = 1 must be a primitive leaf, got {node['by']} "
                 f"with {len(kids)} children")
        elif sigma is not None and node["answer"] != sigma[str(x)]:
            fail(f"{ident}: primitive answer {node['answer']}, sigma({x}) = {sigma[str(x)]}")
    elif depth_left == 0:
        if node["by"] != "model" or kids:
            fail(f"{ident}: no depth left: must be M's leaf, got {node['by']}")
    else:
        want_kids = 2 + k % 2
        if node["by"] != "overseer" or len(kids) != want_kids:
            fail(f"{ident}: must be the overseer's with {want_kids} children, got {node['by']} "
                 f"with {len(kids)}")
            return 1 + sum(check_node(c, sigma, where, level + 1, depth_left - 1, node["id"],
                                      c.get("step"), next_id) for c in kids)
        a, b = kids[0], kids[1]
        want_a = f"pow x={x} k={k // 2}"
        want_b = f"pow x={a['answer']} k={k // 2}"
        if a["question"] != want_a or b["question"] != want_b:
            fail(f"{ident}: asks {a['question']!r}, {b['question']!r}; "
                 f"H asks {want_a!r}, {want_b!r}")
        if k % 2 and kids[2]["question"] != f"pow x={b['answer']} k=1":
            fail(f"{ident}: step 3 asks {kids[2]['question']!r}, H asks "
                 f"'pow x={b['answer']} k=1'")
        if node["answer"] != kids[-1]["answer"]:
            fail(f"{ident}: answer {node['answer']}, H combines to {kids[-1]['answer']}")
    size = 1
    for s, c in enumerate(kids, 1):
        size += check_node(c, sigma, where, level + 1, depth_left - 1, node["id"], s, next_id)
    return size


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    k5 = "--k5" in sys.argv
    answers = [json.loads(l) for l in open(args[0]) if l.strip()]
    trace = [json.loads(l) for l in open(args[1]) if l.strip()]
    if len(answers) != len(trace) or not trace:
        fail(f"{len(trace)} trace records for {len(answers)} answers")
    sigma = {}
    for a in answers:
        if "facts" not in a and a["depth"] > 0 and a["question"].endswith(" k=1"):
            sigma[str(parse(a["question"])[0])] = a["answer"]
    sigma = sigma or None
    for i, (a, t) in enumerate(zip(answers, trace), 1):
        where = f"record {i}"
        line = {k: v for k, v in t.items() if k not in ("nodes", "tree")}
        if line != a:
            fail(f"{where}: {line} differs from the answer line {a}")
        tree = t.get("tree", {})
        if tree.get("question") != a["question"] or tree.get("answer") != a["answer"]:
            fail(f"{where}: the tree's root is not the question and its answer")
        if "facts" in a and not a["facts"]:
            fail(f"{where}: empty facts")
        n = check_node(tree, sigma_of(a, sigma), where, 0, a["depth"], None, None, [0])
        if t.get("nodes") != n:
            fail(f"{where}: nodes {t.get('nodes')}, the tree has {n}")
    if k5:
        t = next((t for t in trace if t["question"] == "pow x=5 k=5" and t["depth"] == 1), None)
        kids = t["tree"]["children"] if t else []
        if len(kids) != 3 or kids[0]["question"] != "pow x=5 k=2" or \
                not re.match(r"^pow x=\d+ k=2$", kids[1]["question"]) or \
                {c["by"] for c in kids[:2]} != {"model"} or kids[2]["by"] != "primitive":
            fail(f"pow x=5 k=5 at depth 1: children {kids}")
    for f in fails[:20]:
        print("FAIL:", f, file=sys.stderr)
    if fails:
        print(f"{len(fails)} failure(s)", file=sys.stderr)
        sys.exit(1)


main()
