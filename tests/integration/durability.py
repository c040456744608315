#!/usr/bin/python3
"""Durability of `iamp serve` under SIGKILL.

Each cycle starts clients that submit answer jobs (`iamp submit --key K
--retry`: on a lost connection they reconnect and resubmit with the same
key), SIGKILLs the server at a random moment, sometimes appends a torn
record to the journal as a crash in mid-write would leave it, and restarts
the server on the same port. Checked:
  - the server always starts again (the journal always loads, and is
    compacted at most starts: --journal-compact-bytes 8192);
  - every job a client saw acknowledged completes, with answers equal to
    `iamp answer` on the same questions and model;
  - a key always names the same job, and a result read in several cycles
    never changes (no job is answered twice differently).
Usage: durability.py path/to/iamp [--cycles N] [--clients K] [--seed S]
"""
import argparse
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

TASK = "permpow:n=16,kmax=15,seed=3"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Run:
    def __init__(self, iamp, tmp, rng):
        self.iamp, self.tmp, self.rng = iamp, tmp, rng
        self.data = os.path.join(tmp, "data")
        self.port = free_port()
        self.addr = "127.0.0.1:%d" % self.port
        self.server = None
        self.starts = 0
        self.torn_seen = 0
        self.compactions = 0
        self.acked = {}  # key -> job id
        self.jobs = {}   # key -> (question file, depth)
        self.seen = {}   # job id -> result text first read

    def iamp_run(self, *args, timeout=120):
        return subprocess.run([self.iamp, *args], capture_output=True, text=True,
                              timeout=timeout)

    def start(self):
        port_file = os.path.join(self.tmp, "port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        err = open(os.path.join(self.tmp, "serve%d.err" % self.starts), "w")
        self.server = subprocess.Popen(
            [self.iamp, "serve", "--listen", self.addr, "--port-file", port_file,
             "--data-dir", self.data, "--journal-compact-bytes", "8192"], stderr=err)
        self.starts += 1
        t0 = time.time()
        while not os.path.exists(port_file):
            if self.server.poll() is not None or time.time() - t0 > 60:
                err.close()
                sys.exit("FAIL: the server did not start again (start %d): %s" %
                         (self.starts, open(err.name).read()))
            time.sleep(0.02)
        err.close()
        text = open(err.name).read()
        m = re.search(r"(\d+) torn bytes dropped", text)
        self.torn_seen += 1 if m and int(m.group(1)) > 0 else 0
        self.compactions += "journal compacted" in text

    def kill(self):
        self.server.send_signal(signal.SIGKILL)
        self.server.wait()

    def tear_journal(self):
        """Append what a crash in mid-append leaves: a header and part of a
        payload."""
        with open(os.path.join(self.data, "journal"), "ab") as f:
            n = self.rng.randrange(20, 200)
            f.write(n.to_bytes(4, "little") + self.rng.randbytes(4 + self.rng.randrange(0, n)))

    def new_job(self, key):
        path = os.path.join(self.tmp, key + ".txt")
        with open(path, "w") as f:
            for _ in range(self.rng.randrange(1, 200)):
                f.write("pow x=%d k=%d\n" % (self.rng.randrange(16), self.rng.randrange(1, 16)))
        self.jobs[key] = (path, self.rng.randrange(3))

    def submitter(self, key):
        path, depth = self.jobs[key]
        return subprocess.Popen([self.iamp, "submit", "--addr", self.addr, "--key", key,
                                 "--depth", str(depth), "--retry", "90", "--timeout", "5", path],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def collect(self, key, p):
        out, err = p.communicate(timeout=180)
        if p.returncode != 0:
            sys.exit("FAIL: submit %s: %s" % (key, err.strip()))
        job = int(out.strip())
        if self.acked.setdefault(key, job) != job:
            sys.exit("FAIL: key %s named job %d, now %d" % (key, self.acked[key], job))

    def check_results(self, sample):
        for key in sample:
            job = self.acked[key]
            r = self.iamp_run("result", "--addr", self.addr, str(job))
            if r.returncode != 0:
                continue  # not finished yet
            if self.seen.setdefault(job, r.stdout) != r.stdout:
                sys.exit("FAIL: job %d answered twice differently" % job)

    def cycle(self, n, clients):
        keys = ["c%d-%d" % (n, i) for i in range(clients)]
        for key in keys:
            self.new_job(key)
        old = self.rng.sample(sorted(self.acked), min(2, len(self.acked)))
        procs = [(k, self.submitter(k)) for k in keys + old]
        time.sleep(self.rng.uniform(0.02, 0.8))
        self.kill()
        if self.rng.random() < 0.4:
            self.tear_journal()
        self.start()
        for key, p in procs:
            self.collect(key, p)
        self.check_results(self.rng.sample(sorted(self.acked), min(8, len(self.acked))))

    def finish(self):
        """Every acknowledged job completes with the answers of iamp answer."""
        questions = 0
        for key in sorted(self.acked):
            job = self.acked[key]
            r = self.iamp_run("watch", "--addr", self.addr, str(job), timeout=300)
            if r.returncode != 0:
                sys.exit("FAIL: job %d (%s) did not end done: %s" % (job, key, r.stdout[-300:]))
            got = self.iamp_run("result", "--addr", self.addr, str(job)).stdout
            path, depth = self.jobs[key]
            want = self.iamp_run("answer", "--checkpoint", os.path.join(self.data, "checkpoint.pb"),
                                 "--depth", str(depth), path).stdout
            if got != want:
                sys.exit("FAIL: job %d (%s) differs from iamp answer" % (job, key))
            if self.seen.setdefault(job, got) != got:
                sys.exit("FAIL: job %d answered twice differently" % job)
            questions += got.count("\n")
        return questions


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("iamp")
    ap.add_argument("--cycles", type=int, default=20)
    ap.add_argument("--clients", type=int, default=6)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    a = ap.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        run = Run(a.iamp, tmp, random.Random(a.seed))
        r = run.iamp_run("train", "--task", TASK, "--algo", "imitate", "--rounds", "30",
                         "--questions", "64", "--eval-size", "64", "--checkpoint-dir", run.data,
                         "--quiet")
        if r.returncode != 0:
            sys.exit("FAIL: training the model: " + r.stderr)
        run.start()
        for n in range(a.cycles):
            run.cycle(n, a.clients)
        questions = run.finish()
        run.server.send_signal(signal.SIGTERM)
        if run.server.wait(timeout=60) != 0:
            sys.exit("FAIL: the server exited non-zero after SIGTERM")
        journal = os.path.getsize(os.path.join(run.data, "journal"))
    print("durability: seed %d, %d SIGKILL cycles, %d server starts (%d dropped a torn tail, "
          "%d compacted the journal), %d acknowledged jobs (%d questions) all completed equal "
          "to iamp answer, journal %d bytes, %.1f s" %
          (a.seed, a.cycles, run.starts, run.torn_seen, run.compactions, len(run.acked),
           questions, journal, time.time() - t0))
    print("ok")


if __name__ == "__main__":
    main()
