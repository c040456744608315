#!/usr/bin/python3
"""Memory a client can make a real `iamp serve` hold (issue 15), measured
as the server's resident set (/proc/PID/status VmRSS):

- 80 connections each sending a frame of just under --max-frame-bytes and
  holding it unfinished: the server admits frames into --max-input-bytes
  before buffering them and refuses the rest (BUSY), so its RSS stays
  under a bound (it grew by the sum of the frames before);
- a frame of millions of empty questions is refused before it is
  unpacked (it grew to ~54x its bytes before);
- with a token, a frame over --max-preauth-frame-bytes before any request
  carried the token is refused; after one did, a large frame is served;
  `iamp submit --token-file` with a question file over that limit works
  (the client authenticates first);
- connections that never read their replies: reading them pauses at
  --max-pending-bytes, the server's RSS stays bounded, other clients are
  served, and memory returns after they close.
Usage: serve_memory.py path/to/iamp"""
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
# Under AddressSanitizer freed memory sits in its quarantine and every call
# is slower: the functional checks run, the RSS and latency bounds do not.
with open(IAMP, "rb") as _f:
    SANITIZED = b"__asan_init" in _f.read()
TASK = "permpow:n=16,kmax=15"
MIB = 1 << 20


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL:", what, flush=True)


def rss_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def start(tmp, name, *extra):
    port_file = os.path.join(tmp, name + ".port")
    err = open(os.path.join(tmp, name + ".err"), "w")
    p = subprocess.Popen([IAMP, "serve", "--listen", "127.0.0.1:0", "--port-file", port_file,
                          "--data-dir", os.path.join(tmp, name), "--task", TASK, *extra],
                         stderr=err)
    return p, w.wait_port(port_file)


def stop(p, what):
    rc = w.terminate(p)
    check(rc == 0, "%s exited %d after SIGTERM" % (what, rc))


def send_partial(port, frame_bytes, send_bytes):
    """A connection that announces frame_bytes and sends send_bytes of it."""
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(5)
    data = struct.pack(">I", frame_bytes) + b"\x0a" * send_bytes
    try:
        s.sendall(data)
    except OSError:
        pass  # refused and closed while sending: fine
    return s


def partial_frames(tmp):
    frame = 4 * MIB - 1
    p, port = start(tmp, "mem", "--max-frame-bytes", str(4 * MIB), "--max-input-bytes",
                    str(32 * MIB), "--idle-timeout-ms", "20000")
    try:
        time.sleep(0.3)
        base = rss_mib(p.pid)
        conns = [send_partial(port, frame, frame - 1) for _ in range(80)]
        time.sleep(1.0)
        peak = rss_mib(p.pid)
        busy = 0
        for s in conns:
            try:
                s.settimeout(0.2)
                data = s.recv(4096)
                busy += b"retry" in data or b"budget" in data
            except OSError:
                pass
        print("80 partial frames of %d MiB: RSS %.0f MiB before, %.0f MiB held; %d refused BUSY"
              % (frame // MIB + 1, base, peak, busy))
        check(SANITIZED or peak - base < 32 + 48,
              "RSS grew by %.0f MiB (budget 32 MiB)" % (peak - base))
        check(busy >= 60, "only %d of 80 over-budget frames refused" % busy)
        for s in conns:
            s.close()
        time.sleep(0.5)
        c = w.Conn(port)
        c.request(w.INFO, request_id=3)
        r = c.recv()
        check(r is not None and r.body == w.INFO_REPLY, "server answers after the flood")
        c.close()

        # Millions of empty questions: refused before unpacking.
        n = 2000000
        body = w.field_varint(1, 1) + b"\x22\x00" * n
        data = w.frame(w.envelope(w.SUBMIT, body, request_id=8))
        before = rss_mib(p.pid)
        c = w.Conn(port)
        c.send(data)
        r = c.recv()
        after = rss_mib(p.pid)
        err = r.error() if r else None
        print("%d empty questions (%.1f MiB): %s; RSS %.0f -> %.0f MiB"
              % (n, len(data) / MIB, err, before, after))
        check(err is not None and err[0] == "LIMIT", "empty questions: %s" % (err,))
        check(SANITIZED or after - before < 40,
              "empty questions grew RSS by %.0f MiB" % (after - before))
        c.close()
    finally:
        stop(p, "memory server")


def preauth(tmp):
    token = "correct-horse-battery-staple"
    token_file = os.path.join(tmp, "token")
    with open(token_file, "w") as f:
        f.write(token + "\n")
    p, port = start(tmp, "auth", "--token-file", token_file)
    try:
        qs = ["pow x=%d k=%d" % (i % 16, 1 + i % 15) for i in range(6000)]
        big = w.frame(w.envelope(w.SUBMIT, w.submit_body(qs), token=token, request_id=4))
        check(len(big) > 64 * 1024, "the test frame is over the pre-auth limit")
        c = w.Conn(port)
        c.send(big)
        r = c.recv()
        err = r.error() if r else None
        check(err is not None and err[0] == "BAD_FRAME" and "before authentication" in err[1],
              "large frame before authentication: %s" % (err,))
        c.close()
        c = w.Conn(port)
        c.request(w.INFO, token=token, request_id=1)
        r = c.recv()
        check(r is not None and r.body == w.INFO_REPLY, "info with the token")
        c.send(big)
        r = c.recv()
        check(r is not None and r.body == w.ACCEPTED, "large frame after authentication: %s"
              % (r.error() if r else None,))
        c.close()
        qfile = os.path.join(tmp, "q.txt")
        with open(qfile, "w") as f:
            f.write("\n".join(qs) + "\n")
        out = subprocess.run([IAMP, "submit", "--addr", "127.0.0.1:%d" % port, "--token-file",
                              token_file, qfile], capture_output=True, text=True)
        check(out.returncode == 0 and out.stdout.strip().isdigit(),
              "iamp submit of %d bytes with a token: %s %s"
              % (os.path.getsize(qfile), out.stdout, out.stderr))
    finally:
        stop(p, "token server")


def wait_done(port, job):
    c = w.Conn(port)
    c.request(w.WATCH, w.job_body(job), request_id=2)
    while True:
        r = c.recv()
        if r is None or (r.body == w.PROGRESS and r.status()["state"] >= w.DONE):
            break
    c.close()


def slow_readers(tmp):
    """Connections that never read their replies: each asks for a large
    result page 20,000 times. Reading them pauses behind max-pending-bytes,
    so the server holds about that much per connection; a normal client is
    served meanwhile; memory comes back after they close."""
    p, port = start(tmp, "slow", "--max-pending-bytes", str(4 * MIB), "--max-questions", "4000")
    try:
        c = w.Conn(port)
        qs = ["pow x=%d k=%d" % (i % 16, 1 + i % 15) for i in range(1000)]
        c.send(w.frame(w.envelope(w.SUBMIT, w.submit_body(qs), request_id=1)))
        r = c.recv()
        job = r.fields[1][0]
        c.close()
        wait_done(port, job)
        base = rss_mib(p.pid)
        req = w.frame(w.envelope(w.GET_RESULT, w.job_body(job), request_id=5))
        hogs = []
        for _ in range(4):
            s = socket.create_connection(("127.0.0.1", port))
            s.setblocking(False)
            data, sent = req * 20000, 0
            t0 = time.time()
            while sent < len(data) and time.time() - t0 < 2.0:
                try:
                    sent += s.send(data[sent:sent + 65536])
                except BlockingIOError:
                    time.sleep(0.01)
            hogs.append(s)
        time.sleep(0.5)
        held = rss_mib(p.pid)
        t0 = time.time()
        ok = w.serves(port)
        lat = time.time() - t0
        print("4 connections that never read, 20,000 GetResult each: RSS %.0f -> %.0f MiB; "
              "a normal client answered in %.3f s" % (base, held, lat))
        check(ok and (SANITIZED or lat < 1.0),
              "a normal client waited %.1f s behind slow readers" % lat)
        # About max-pending-bytes each (4 x 4 MiB), plus the allocator's slack.
        check(SANITIZED or held - base < 4 * 4 + 16,
              "slow readers grew RSS by %.0f MiB" % (held - base))
        for s in hogs:
            s.close()
        time.sleep(1.0)
        after = rss_mib(p.pid)
        print("after they closed: RSS %.0f MiB" % after)
        check(SANITIZED or after - base < 24,
              "memory not returned: %.0f MiB over the start" % (after - base))
    finally:
        stop(p, "slow-reader server")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        partial_frames(tmp)
        preauth(tmp)
        slow_readers(tmp)
        if FAILS:
            for name in ("mem", "auth", "slow"):
                path = os.path.join(tmp, name + ".err")
                if os.path.exists(path):
                    print(open(path).read())
            print("%d check(s) failed" % len(FAILS))
            return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
