"""serve_trace.py ADDR WANT_TRACE — the Python client's traces (run by
serve_trace.sh): Client.answer(..., trace=True) on the questions of
WANT_TRACE (an `iamp answer --trace` file at depth 3) gives items whose
.trace is that file's tree node by node (pre-order: question, answer, by,
parent, step, depth_left); an untraced job's items have no trace."""
import json
import sys

import iamp


def flatten(node, out, parent=None):
    """A JSONL tree in pre-order as (question, answer, by, parent, step, depth_left)."""
    out.append((node["question"], node["answer"], node["by"], parent, node.get("step", 0),
                node["depth_left"]))
    me = len(out) - 1
    for c in node["children"]:
        flatten(c, out, me)
    return out


def main():
    addr, want_path = sys.argv[1], sys.argv[2]
    with open(want_path) as f:
        want = [json.loads(line) for line in f]
    questions = [w["question"] for w in want]
    with iamp.Client(addr, timeout=60) as c:
        items = c.answer(questions, depth=3, trace=True)
        assert len(items) == len(want), (len(items), len(want))
        for i, (it, w) in enumerate(zip(items, want)):
            got = [(n.question, n.answer, n.by, n.parent, n.step, n.depth_left) for n in it.trace]
            assert got == flatten(w["tree"], []), "item %d: %r != %r" % (i, got, w["tree"])
            assert it.trace[0].question == it.question and it.trace[0].answer == it.answer
            assert len(it.trace) == w["nodes"]
        assert any(n.by == "overseer" for it in items for n in it.trace), "no decomposition"
        plain = c.answer(questions[:5], depth=3)
        assert all(it.trace == () for it in plain), "an untraced job has traces"
        assert [it.answer for it in plain] == [it.answer for it in items[:5]]
        try:
            c.submit(kind="eval", trace=True)
            raise AssertionError("a traced eval job was accepted")
        except iamp.ServerError as e:
            assert e.code == "BAD_REQUEST" and "trace is for answer jobs" in e.reason, e
        assert c.info().max_trace_nodes > 0
    print("python: %d traced items equal iamp answer --trace" % len(items))


if __name__ == "__main__":
    main()
