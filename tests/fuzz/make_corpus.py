#!/usr/bin/python3
"""Writes the fuzz target's seed corpus (tests/fuzz/corpus): one file per
kind of request, valid and broken. Each file: a read-size byte, a token
byte, then a byte stream. Usage: make_corpus.py [DIR]"""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import iampwire as w  # noqa: E402

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
os.makedirs(out, exist_ok=True)


def env(no, body=b"", **kw):
    return w.frame(w.envelope(no, body, **kw))


def tokens_question(qtype, toks):
    q = w.field_varint(1, qtype) + w.field_bytes(2, b"".join(w.varint(t) for t in toks))
    return w.field_varint(1, 1) + w.field_bytes(4, q)


seeds = {
    "info": env(w.INFO),
    "info_token": env(w.INFO, token="sesame", request_id=3),
    "submit_text": env(w.SUBMIT, w.submit_body(["pow x=5 k=7", "pow x=0 k=15"], depth=2,
                                               key="k")),
    "submit_task": env(w.SUBMIT, w.submit_body(["pow x=1 k=1"], task="permpow:kmax=15,n=16")),
    "submit_other_task": env(w.SUBMIT, w.submit_body(["pow x=1 k=1"], task="permpow:n=32")),
    "submit_tokens": env(w.SUBMIT, tokens_question(0, [3, 7])),
    "submit_bad_text": env(w.SUBMIT, w.submit_body(["pow x=99 k=1", "hello"])),
    "submit_depth": env(w.SUBMIT, w.submit_body(["pow x=1 k=3"], depth=99)),
    "train": env(w.SUBMIT, w.submit_body(kind=2, rounds=5)),
    "eval": env(w.SUBMIT, w.submit_body(kind=3, depth=1)),
    "status": env(w.GET_STATUS, w.job_body(1)),
    "watch": env(w.WATCH, w.job_body(2)),
    "result": env(w.GET_RESULT, w.job_body(1) + w.field_varint(2, 5) + w.field_varint(3, 10)),
    "cancel": env(w.CANCEL, w.job_body(1)),
    "list": env(w.LIST_JOBS, w.field_varint(1, 10)),
    "version2": env(w.INFO, version=2),
    "reply_as_request": env(w.ERROR, w.field_varint(1, 4) + w.field_bytes(2, "x")),
    "pipelined": env(w.INFO, request_id=1) + env(w.GET_STATUS, w.job_body(1), request_id=2)
    + env(w.SUBMIT, w.submit_body(["pow x=2 k=2"]), request_id=3),
    "oversize": struct.pack(">I", 0xFFFFFFF0) + b"x" * 8,
    "truncated": struct.pack(">I", 100) + b"\x08\x01",
    "empty_frame": w.frame(b""),
    "http": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
}
for name, stream in seeds.items():
    for read_size, token in ((0, 0), (2, 1)):
        with open(os.path.join(out, "%s_%d_%d" % (name, read_size, token)), "wb") as f:
            f.write(bytes([read_size, token]) + stream)
print("%d seeds in %s" % (2 * len(seeds), out))
