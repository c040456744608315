#!/usr/bin/python3
"""The Python package (python/iamp, imported as `PYTHONPATH=python` would)
against a real `iamp serve` serving a small trained permpow model:

- an answer job from iamp.Client and the same questions from `iamp submit
  --wait` give the same answers, question by question (2,345 questions:
  three result pages; depth 0, 1 and 2; questions by text and by tokens);
  `iamp result` of the Python client's job prints them too;
- status, watch (with other requests on the connection meanwhile), wait,
  cancel, jobs and info agree with the CLI's --json output;
- refused requests raise ServerError with the server's code and reason (the
  reason the CLI prints), and the connection stays usable;
- a server with a token: the right token works, also for a frame over the
  64 KiB pre-authentication limit; a wrong or missing one raises AUTH;
- no server: iamp.ConnectionError;
- `pip install --no-build-isolation -e` of the package works offline in a
  venv, and that install talks to the server.

Usage: python_client.py path/to/iamp
"""
import builtins
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PYDIR = os.path.normpath(os.path.join(HERE, "..", "..", "python"))
sys.path.insert(0, PYDIR)
sys.path.insert(0, HERE)
import iamp  # noqa: E402
import iampwire as w  # noqa: E402

IAMP = sys.argv[1]
TASK = "permpow:n=16,kmax=15,seed=3"
ROUNDS = 20
FAILS = []
ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1")
ENV.pop("IAMP_ADDR", None)
ENV.pop("IAMP_TOKEN_FILE", None)
os.environ.pop("IAMP_ADDR", None)
os.environ.pop("IAMP_TOKEN_FILE", None)


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL:", what, flush=True)
    return cond


def cli(*args, ok=True):
    r = subprocess.run([IAMP, *args], capture_output=True, text=True, env=ENV, timeout=120)
    if ok and r.returncode != 0:
        raise RuntimeError("iamp %s: exit %d: %s" % (" ".join(args), r.returncode, r.stderr))
    return r


def start(tmp, name, *extra):
    port_file = os.path.join(tmp, name + ".port")
    err = open(os.path.join(tmp, name + ".err"), "w")
    p = subprocess.Popen([IAMP, "serve", "--listen", "127.0.0.1:0", "--port-file", port_file,
                          "--data-dir", os.path.join(tmp, name), "--threads", "1", *extra],
                         stderr=err, env=ENV)
    return p, "127.0.0.1:%d" % w.wait_port(port_file)


def expect_server_error(fn, code, what, reason_has=""):
    try:
        fn()
    except iamp.ServerError as e:
        check(e.code == code and reason_has in e.reason and isinstance(e, iamp.Error),
              "%s: got %s %r, want %s with %r" % (what, e.code, e.reason, code, reason_has))
        return e
    except Exception as e:  # noqa: BLE001 - any other outcome is the failure
        check(False, "%s: raised %r, want ServerError %s" % (what, e, code))
        return None
    check(False, "%s: no error, want ServerError %s" % (what, code))
    return None


def cli_reason(args, code_words):
    """The reason `iamp` prints for a refusal: 'iamp: CMD: REASON (code words)'."""
    r = cli(*args, ok=False)
    line = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ""
    suffix = " (%s)" % code_words
    check(r.returncode == 1 and line.endswith(suffix), "iamp %s: %r" % (args[0], line))
    return line[len("iamp: %s: " % args[0]):-len(suffix)]


def questions(n, seed):
    rng = random.Random(seed)
    return ["pow x=%d k=%d" % (rng.randrange(16), rng.randrange(1, 16)) for _ in range(n)]


def jsonl(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def same_answers(items, rows, what):
    check(len(items) == len(rows), "%s: %d answers, the CLI %d" % (what, len(items), len(rows)))
    bad = [(i, it, r) for i, (it, r) in enumerate(zip(items, rows))
           if (it.question, it.answer, it.depth) != (r["question"], r["answer"], r["depth"])]
    check(not bad, "%s: %d answers differ, first %s" % (what, len(bad), bad[:1]))


# ---------------------------------------------------------------- answers

def answer_cases(c, addr, tmp):
    info = c.info()
    qs = questions(2345, 1)
    qfile = os.path.join(tmp, "q.txt")
    with open(qfile, "w") as f:
        f.write("\n".join(qs) + "\n")
    want = jsonl(cli("submit", "--addr", addr, "--wait", qfile).stdout)
    job = c.submit(TASK, qs, depth=1)
    final = c.wait(job, timeout=120)
    check(final.state == "done" and final.done == final.total == len(qs),
          "answer job: %s" % (final,))
    items = c.result(job)
    same_answers(items, want, "depth 1, %d questions (3 pages)" % len(qs))
    check(all(it.answer_tokens and it.question_tokens for it in items), "tokens in results")
    same_answers(items, jsonl(cli("result", "--addr", addr, str(job)).stdout),
                 "`iamp result` of the Python client's job")
    page = c.result_page(job, offset=5, limit=7)
    check(page.total == len(qs) and page.offset == 5 and page.items == tuple(items[5:12]) and
          page.status and page.status.state == "done", "result_page(5, 7): %s" % (page,))
    # The same questions by type and tokens.
    by_tokens = [(it.question_type, list(it.question_tokens)) for it in items[:300]]
    items2 = c.answer(by_tokens, depth=1)
    same_answers(items2, want[:300], "questions as (type, tokens)")
    for depth in (0, 2):
        small = questions(60, 10 + depth)
        with open(qfile, "w") as f:
            f.write("\n".join(small) + "\n")
        want_d = jsonl(cli("submit", "--addr", addr, "--wait", "--depth", str(depth),
                           qfile).stdout)
        same_answers(c.answer(small, depth=depth), want_d, "depth %d" % depth)
    # status against the CLI's.
    st = c.status(job)
    js = json.loads(cli("status", "--addr", addr, "--json", str(job)).stdout)
    check(st.job_id == job and st.kind == "answer" and st.final and st.depth == 1 and
          st.model_round == info.model_round == ROUNDS and st.created_ms and st.finished_ms,
          "status: %s" % (st,))
    check((st.kind, st.state, st.done, st.total, st.task, st.depth, st.model_round) ==
          (js["kind"], js["state"], js["done"], js["total"], js["task"], js["depth"],
           js["model_round"]), "status %s vs iamp status --json %s" % (st, js))
    return job


def info_and_jobs(c, addr):
    info = c.info()
    js = json.loads(cli("info", "--addr", addr, "--json").stdout)
    check("permpow" in info.tasks and info.max_page_items == 1000, "info: %s" % (info,))
    for k in ("version", "ranks", "model_task", "model_round", "max_questions", "max_depth",
              "max_tree_nodes", "max_frame_bytes", "jobs_queued", "jobs_total"):
        check(getattr(info, k) == js[k], "info.%s %r, iamp info %r" % (k, getattr(info, k), js[k]))
    mine = c.jobs()
    theirs = jsonl(cli("jobs", "--addr", addr, "--json").stdout)
    check([(j.job_id, j.state, j.kind) for j in mine] ==
          [(j["job"], j["state"], j["kind"]) for j in theirs] and len(mine) == info.jobs_total,
          "jobs(): %s vs iamp jobs %s" % ([j.job_id for j in mine], [j["job"] for j in theirs]))
    check([j.job_id for j in c.jobs(limit=2)] == [j.job_id for j in mine[:2]], "jobs(limit=2)")
    check(mine == sorted(mine, key=lambda j: -j.job_id), "jobs newest first")


# ---------------------------------------------------------------- train jobs

def watch_and_cancel(c, addr):
    t = c.submit(kind="train", rounds=3, questions_per_round=64, algo="imitate")
    w_ = c.watch(t, timeout=30)
    first = next(w_)
    # Another request while the watch streams: by now the job has ended,
    # so its Progress frames arrive before the status reply and must be
    # kept for the watch.
    time.sleep(1.0)
    mid = c.status(t)
    seen = [first] + list(w_)
    check(mid.job_id == t and mid.kind == "train" and mid.state == "done",
          "status during a watch: %s" % (mid,))
    check(all(not s.final for s in seen[:-1]) and seen[-1].state == "done" and
          seen[-1].done == seen[-1].total == 3 and seen[-1].model_round == ROUNDS + 3 and
          seen[-1].accuracy is not None, "watch of a 3-round train job: %s" % (seen,))
    check([s.done for s in seen] == sorted(s.done for s in seen), "watch: done only grows")
    check(c.wait(t) == seen[-1], "wait on a finished job gives its final status")
    check(c.result(t) == [], "result of a train job: no items")
    check(c.info().model_round == ROUNDS + 3, "the train job trained the served model")

    long = c.submit(kind="train", rounds=100000, questions_per_round=64)
    for st in c.watch(long, timeout=60):
        if st.state == "running":
            break
    expect_server_error(lambda: c.result(long), "NOT_DONE", "result of a running job",
                        "is running")
    got = c.cancel(long)
    check(got.job_id == long and got.state in ("running", "canceled"), "cancel: %s" % (got,))
    end = c.wait(long, timeout=60)
    check(end.state == "canceled" and end.final, "canceled job ends canceled: %s" % (end,))
    js = json.loads(cli("status", "--addr", addr, "--json", str(long)).stdout)
    check(js["state"] == "canceled" and js["done"] == end.done, "CLI status of it: %s" % js)
    expect_server_error(lambda: c.result(long), "NOT_DONE", "result of a canceled job",
                        "was canceled")
    check(c.cancel(long).state == "canceled", "canceling a finished job changes nothing")


# ---------------------------------------------------------------- refusals

def refusals(c, addr, tmp):
    c.info()
    sock = c._sock
    e = expect_server_error(lambda: c.submit("nosuchtask", ["pow x=1 k=1"]), "UNKNOWN_TASK",
                            "unknown task", "no task 'nosuchtask'")
    qfile = os.path.join(tmp, "one.txt")
    with open(qfile, "w") as f:
        f.write("pow x=1 k=1\n")
    if e:
        check(e.reason == cli_reason(["submit", "--addr", addr, "--task", "nosuchtask", qfile],
                                     "unknown task"), "unknown task: the CLI's reason")
    e = expect_server_error(lambda: c.submit(TASK, ["pow x=1 k=1", "pow x=1"]), "BAD_REQUEST",
                            "malformed question text", "question 2:")
    with open(qfile, "w") as f:
        f.write("pow x=1 k=1\npow x=1\n")
    if e:
        check(e.reason == cli_reason(["submit", "--addr", addr, qfile], "bad request"),
              "malformed question: the CLI's reason")
    expect_server_error(lambda: c.submit(TASK, ["pow x=99 k=1"]), "BAD_REQUEST",
                        "question out of range", "question 1:")
    expect_server_error(lambda: c.submit(TASK, ["pow x=1\x07 k=1"]), "BAD_REQUEST",
                        "control character in question text", "control")
    expect_server_error(lambda: c.submit(TASK, [(0, [999, 999])]), "BAD_REQUEST",
                        "tokens that are no question", "tokens are not a question")
    expect_server_error(lambda: c.submit(TASK, []), "BAD_REQUEST", "no questions",
                        "needs questions")
    expect_server_error(lambda: c.submit(TASK, ["pow x=1 k=1"], depth=9), "LIMIT",
                        "depth over the limit", "depth 9")
    expect_server_error(lambda: c.submit(kind="train"), "BAD_REQUEST", "train job without rounds",
                        "rounds")
    expect_server_error(lambda: c.status(987654), "NOT_FOUND", "status of no job",
                        "no job 987654")
    expect_server_error(lambda: list(c.watch(987654)), "NOT_FOUND", "watch of no job",
                        "no job 987654")
    expect_server_error(lambda: c.cancel(987654), "NOT_FOUND", "cancel of no job")
    check(c.info().model_task and c._sock is sock, "the connection stays open after refusals")
    try:
        c.submit(TASK, [42])
        check(False, "question 42: no TypeError")
    except TypeError:
        pass
    try:
        c.submit(kind="nonsense")
        check(False, "kind 'nonsense': no ValueError")
    except ValueError:
        pass


def no_server():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    addr = "127.0.0.1:%d" % port
    try:
        iamp.Client(addr, timeout=5).info()
        check(False, "no server: no error")
    except iamp.ConnectionError as e:
        check(addr in str(e) and isinstance(e, builtins.ConnectionError) and
              isinstance(e, iamp.Error), "no server: %r" % e)
    try:
        iamp.Client("no-port-here")
        check(False, "address without a port: no ValueError")
    except ValueError:
        pass


# ---------------------------------------------------------------- token

def token_cases(tmp):
    tok = os.path.join(tmp, "token")
    with open(tok, "w") as f:
        f.write("s3cret-token\n")
    wrong = os.path.join(tmp, "wrong")
    with open(wrong, "w") as f:
        f.write("not-the-token\n")
    p, addr = start(tmp, "tok", "--task", TASK, "--token-file", tok)
    try:
        c = iamp.Client(addr, token="s3cret-token")
        check(c.info().model_task, "right token: info")
        # A frame over the 64 KiB a connection may send before it has
        # shown the token: the client sends an Info first.
        qs = questions(6000, 7)
        job = c.submit(TASK, qs)
        check(c.wait(job, timeout=120).state == "done" and len(c.result(job)) == len(qs),
              "right token: a 6000-question job (a frame over 64 KiB)")
        big = iamp.Client(addr, token_file=tok)
        check(len(big.answer(qs)) == len(qs), "token_file, large frame on a fresh connection")
        bad = iamp.Client(addr, token="not-the-token")
        e = expect_server_error(bad.info, "AUTH", "wrong token", "wrong token")
        check(bad._sock is None, "wrong token: the client drops the closed connection")
        expect_server_error(bad.info, "AUTH", "wrong token again (reconnects)", "wrong token")
        if e:
            check(e.reason == cli_reason(["info", "--addr", addr, "--token-file", wrong], "auth"),
                  "wrong token: the CLI's reason")
        expect_server_error(iamp.Client(addr).info, "AUTH", "no token", "requires a token")
        check(c.info().model_task, "the right client still served")
    finally:
        rc = w.terminate(p)
        check(rc == 0, "token server exited %d after SIGTERM" % rc)


# ---------------------------------------------------------------- install

def editable_install(tmp, addr):
    """pip install -e offline into a venv that sees Debian's protobuf; the
    package is copied first so the install leaves the source tree alone."""
    src = os.path.join(tmp, "pkg")
    shutil.copytree(PYDIR, src, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    venv = os.path.join(tmp, "venv")
    r = subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", venv],
                       capture_output=True, text=True, timeout=120)
    if not check(r.returncode == 0, "python3 -m venv (python3-venv): %s" % r.stderr[-500:]):
        return
    py = os.path.join(venv, "bin", "python")
    r = subprocess.run([py, "-m", "pip", "install", "--quiet", "--no-index",
                        "--no-build-isolation", "-e", src], capture_output=True, text=True,
                       timeout=300, cwd=tmp)
    if not check(r.returncode == 0, "pip install -e: %s" % (r.stdout + r.stderr)[-1500:]):
        return
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run([py, "-c", "import iamp, sys; print(iamp.__file__); "
                        "print(iamp.Client(sys.argv[1]).info().model_task)", addr],
                       capture_output=True, text=True, timeout=60, cwd=tmp, env=env)
    lines = r.stdout.splitlines()
    check(r.returncode == 0 and len(lines) == 2 and lines[0].startswith(src) and
          lines[1].startswith("permpow:"), "installed package: %r %r" % (r.stdout, r.stderr))


def main():
    t0 = time.time()
    tmp = tempfile.mkdtemp(prefix="iamp-python-")
    p = None
    try:
        cli("train", "--task", TASK, "--algo", "imitate", "--rounds", str(ROUNDS), "--questions",
            "128", "--checkpoint-dir", os.path.join(tmp, "data"), "--threads", "1", "--quiet")
        p, addr = start(tmp, "data")
        with iamp.Client(addr, timeout=60) as c:
            answer_cases(c, addr, tmp)
            watch_and_cancel(c, addr)
            refusals(c, addr, tmp)
            info_and_jobs(c, addr)
        no_server()
        token_cases(tmp)
        editable_install(tmp, addr)
    finally:
        if p:
            rc = w.terminate(p)
            check(rc == 0, "server exited %d after SIGTERM" % rc)
        if FAILS:
            for name in ("data.err", "tok.err"):
                path = os.path.join(tmp, name)
                if os.path.exists(path):
                    print("--- %s:\n%s" % (name, open(path).read()[-3000:]))
        shutil.rmtree(tmp, ignore_errors=True)
    if FAILS:
        print("%d check(s) failed" % len(FAILS))
        sys.exit(1)
    print("python client: answers equal the CLI's, status/watch/cancel/jobs/info, refusals, "
          "token, install; ok (%.1fs)" % (time.time() - t0))


if __name__ == "__main__":
    main()
