#!/usr/bin/python3
"""Bad input against a real `iamp serve`: each case gets its Error reply (or
a clean close where no reply can be framed), and after each one the server
still answers the next client. Usage: serve_badinput.py path/to/iamp"""
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import iampwire as w  # noqa: E402

IAMP = sys.argv[1]
FAILS = []
TASK = "permpow:n=16,kmax=15"


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL:", what, flush=True)


def start(tmp, name, *extra):
    port_file = os.path.join(tmp, name + ".port")
    err = open(os.path.join(tmp, name + ".err"), "w")
    p = subprocess.Popen([IAMP, "serve", "--listen", "127.0.0.1:0", "--port-file", port_file,
                          "--data-dir", os.path.join(tmp, name), "--task", TASK,
                          "--max-questions", "100", "--max-depth", "3",
                          "--max-conn-jobs", "2", "--idle-timeout-ms", "600", *extra],
                         stderr=err)
    return p, w.wait_port(port_file)


def expect_error(port, data, code, close, what, shut=False):
    c = w.Conn(port)
    c.send(data)
    if shut:
        c.sock.shutdown(socket.SHUT_WR)
    r = c.recv()
    err = r.error() if r else None
    check(err is not None and err[0] == code, "%s: got %s, want %s" % (what, err, code))
    if close:
        check(c.closed(), "%s: connection not closed" % what)
    c.close()
    check(w.serves(port), "%s: server does not answer the next client" % what)
    return c


def submit(questions, **kw):
    return w.frame(w.envelope(w.SUBMIT, w.submit_body(questions, **kw), request_id=7))


def framing_cases(port):
    expect_error(port, struct.pack(">I", 100) + b"x" * 10, "BAD_FRAME", True, "truncated frame",
                 shut=True)
    expect_error(port, struct.pack(">I", 0xFFFFFFF0), "BAD_FRAME", True, "oversize length")
    expect_error(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "BAD_FRAME", True, "HTTP request")
    expect_error(port, w.frame(bytes(range(7, 200, 3))), "BAD_FRAME", True, "garbage payload")
    expect_error(port, w.frame(b""), "BAD_FRAME", True, "empty frame")
    c = expect_error(port, w.frame(w.envelope(w.INFO, version=2)), "VERSION", False,
                     "wrong version")
    # Slow loris: half a header, then nothing; the idle timeout answers.
    c = w.Conn(port)
    c.send(b"\x00\x00")
    r = c.recv()
    check(r is not None and r.error() and r.error()[0] == "BAD_FRAME",
          "stalled frame: %s" % ((r.error() if r else None),))
    c.close()


def request_cases(port):
    expect_error(port, submit(["pow x=1 k=1"], task="nosuchtask"), "UNKNOWN_TASK", False,
                 "unknown task")
    expect_error(port, submit(["pow x=1 k=1"], task="permpow:n=32"), "UNKNOWN_TASK", False,
                 "another task instance")
    expect_error(port, submit(["pow x=1 k=1"], depth=9), "LIMIT", False, "depth over the limit")
    expect_error(port, submit(["pow x=1 k=1"] * 101), "LIMIT", False, "too many questions")
    expect_error(port, submit(["pow x=1 k=99"]), "BAD_REQUEST", False, "malformed question")
    expect_error(port, submit([]), "BAD_REQUEST", False, "no questions")
    expect_error(port, w.frame(w.envelope(w.GET_STATUS, w.job_body(999))), "NOT_FOUND", False,
                 "unknown job")
    expect_error(port, w.frame(w.envelope(w.JOB_LIST, b"")), "BAD_REQUEST", False,
                 "a reply sent as a request")
    # A missing required field is a bad request, not a bad frame: the
    # connection stays open and the reply carries the request's id.
    c = w.Conn(port)
    c.send(w.frame(w.envelope(w.GET_STATUS, b"", request_id=77)))
    r = c.recv()
    got = r and (r.error(), r.request_id)
    check(r is not None and r.error() and r.error()[0] == "BAD_REQUEST" and r.request_id == 77
          and "required field" in r.error()[1], "missing job_id: %s" % (got,))
    c.request(w.INFO, request_id=78)
    r = c.recv()
    check(r is not None and r.body == w.INFO_REPLY, "connection open after a missing field")
    c.close()
    # A body this server does not know (a future request): said so.
    expect_error(port, w.frame(w.envelope(30, b"\x08\x01", request_id=9)), "BAD_REQUEST", False,
                 "unknown body")
    c = w.Conn(port)
    c.send(w.frame(w.envelope(30, b"", request_id=9)))
    r = c.recv()
    check(r is not None and "not a request this server knows" in r.error()[1],
          "unknown body reason: %s" % (r and r.error(),))
    c.close()
    # A NUL inside question text: refused, not cut at the NUL.
    c = w.Conn(port)
    c.send(submit([b"pow x=1 k=1\x00garbage"]))
    r = c.recv()
    c.close()
    check(r is not None and r.error() and r.error()[0] == "BAD_REQUEST" and
          "NUL byte at column 12" in r.error()[1], "NUL in text: %s" % (r and r.error(),))
    # Text that is not text (issue 15): refused, and the reason — which
    # names the offending byte — is itself valid UTF-8 without controls.
    for q, what in ((b"pow x=\xff k=1", "not valid UTF-8"), (b"pow x=\x1b[31m k=1", "control"),
                    (b"pow x=1\x07 k=1", "control")):
        c = w.Conn(port)
        c.send(submit([q]))
        r = c.recv()
        c.close()
        check(r is not None and r.error() and r.error()[0] == "BAD_REQUEST",
              "%r: %s" % (q, r.error() if r else None))
        raw = r.fields.get(2, [b""])[0]
        try:
            reason = raw.decode("utf-8")
        except UnicodeDecodeError:
            check(False, "%r: reason is not UTF-8: %r" % (q, raw))
            continue
        check(what in reason and not any(ord(ch) < 32 for ch in reason),
              "%r: reason %r" % (q, reason))
    c = w.Conn(port)
    c.send(submit(["pow x=1 k=1"], task=b"perm\xffpow"))
    r = c.recv()
    c.close()
    raw = r.fields.get(2, [b""])[0] if r else b""
    check(r is not None and r.error() and r.error()[0] in ("BAD_REQUEST", "UNKNOWN_TASK") and
          b"\xff" not in raw and raw.decode("utf-8", "strict"), "task text: %r" % raw)


def pipelined(port):
    """Several requests in one write; replies keep their request ids; the
    third job on the connection is over the per-connection limit."""
    c = w.Conn(port)
    data = b"".join(w.frame(w.envelope(w.SUBMIT, w.submit_body(["pow x=%d k=15" % i]),
                                       request_id=i + 1)) for i in range(3))
    c.send(data + w.frame(w.envelope(w.INFO, request_id=9)))
    replies = {}
    for _ in range(4):
        r = c.recv()
        replies[r.request_id] = r
    check(sorted(replies) == [1, 2, 3, 9], "pipelined replies: %s" % sorted(replies))
    check(replies[1].body == w.ACCEPTED and replies[2].body == w.ACCEPTED, "first two accepted")
    check(replies[3].error() and replies[3].error()[0] == "LIMIT",
          "third job over the per-connection limit: %s" % (replies[3].error(),))
    job = replies[1].fields[1][0]
    c.request(w.WATCH, w.job_body(job), request_id=5)
    while True:
        r = c.recv()
        if r.body == w.PROGRESS and r.status()["state"] >= w.DONE:
            break
    c.request(w.GET_RESULT, w.job_body(job), request_id=6)
    r = c.recv()
    check(r.body == w.RESULT and len(r.items()) == 1, "result of a pipelined job")
    c.close()


def token_cases(tmp):
    token_file = os.path.join(tmp, "token")
    with open(token_file, "w") as f:
        f.write("correct-horse-battery-staple\n")
    p, port = start(tmp, "tok", "--token-file", token_file)
    try:
        expect_error_tok = lambda data, what: expect_error_t(port, data, what)  # noqa: E731
        expect_error_tok(w.frame(w.envelope(w.INFO)), "missing token")
        expect_error_tok(w.frame(w.envelope(w.INFO, token="correct-horse-battery-stapl")),
                         "wrong token")
        check(w.serves(port, token="correct-horse-battery-staple"), "right token")
    finally:
        stop(p, "token server")
    r = subprocess.run([IAMP, "serve", "--listen", "0.0.0.0:0", "--data-dir",
                        os.path.join(tmp, "open")], capture_output=True, text=True)
    check(r.returncode == 2 and "--token-file" in r.stderr,
          "listening beyond loopback without a token: exit %d %s" % (r.returncode, r.stderr))


def expect_error_t(port, data, what):
    c = w.Conn(port)
    c.send(data)
    r = c.recv()
    check(r is not None and r.error() and r.error()[0] == "AUTH", "%s: %s" % (what, r and r.error()))
    check(c.closed(), "%s: connection not closed" % what)
    c.close()


def stop(p, what):
    rc = w.terminate(p)
    check(rc == 0, "%s exited %d after SIGTERM" % (what, rc))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        p, port = start(tmp, "data")
        try:
            framing_cases(port)
            request_cases(port)
            pipelined(port)
        finally:
            stop(p, "server")
        token_cases(tmp)
        if FAILS:
            for name in ("data", "tok"):
                path = os.path.join(tmp, name + ".err")
                if os.path.exists(path):
                    print(open(path).read())
    if FAILS:
        print("%d check(s) failed" % len(FAILS))
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
