"""iampwire — a tiny, independent client of iamp's job API for tests.

Hand-encodes the few protobuf messages of proto/iamp.proto that tests need
(standard library only), so the tests also check the wire format against a
second implementation. Framing: 4-byte big-endian length, then an Envelope.
"""
import socket
import struct
import time

# Envelope body field numbers (proto/iamp.proto).
SUBMIT, ACCEPTED, GET_STATUS, STATUS, WATCH, PROGRESS = 10, 11, 12, 13, 14, 15
GET_RESULT, RESULT, CANCEL, LIST_JOBS, JOB_LIST, INFO, INFO_REPLY, ERROR = (
    16, 17, 18, 19, 20, 21, 22, 23)
ERR_NAMES = {1: "BAD_FRAME", 2: "VERSION", 3: "AUTH", 4: "BAD_REQUEST", 5: "UNKNOWN_TASK",
             6: "LIMIT", 7: "NOT_FOUND", 8: "INTERNAL", 9: "BUSY", 10: "NOT_DONE"}
DONE, FAILED, CANCELED = 3, 4, 5


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_varint(no, n):
    return varint(no << 3) + varint(n)


def field_bytes(no, data):
    if isinstance(data, str):
        data = data.encode()
    return varint(no << 3 | 2) + varint(len(data)) + data


def frame(payload):
    return struct.pack(">I", len(payload)) + payload


def envelope(body_no, body=b"", version=1, token=None, request_id=None):
    out = field_varint(1, version)
    if token is not None:
        out += field_bytes(2, token)
    if request_id is not None:
        out += field_varint(3, request_id)
    return out + field_bytes(body_no, body)


def submit_body(questions=(), task=None, depth=None, kind=1, key=None, rounds=None):
    out = field_varint(1, kind)
    if task is not None:
        out += field_bytes(2, task)
    if depth is not None:
        out += field_varint(3, depth)
    for q in questions:
        out += field_bytes(4, field_bytes(3, q))
    if rounds is not None:
        out += field_bytes(5, field_varint(2, rounds))
    if key is not None:
        out += field_bytes(6, key)
    return out


def job_body(job_id):
    return field_varint(1, job_id)


def parse(buf):
    """Fields of one message: {number: [int or bytes, ...]}."""
    fields, i = {}, 0
    while i < len(buf):
        key, i = read_varint(buf, i)
        no, wt = key >> 3, key & 7
        if wt == 0:
            v, i = read_varint(buf, i)
        elif wt == 2:
            n, i = read_varint(buf, i)
            v, i = buf[i:i + n], i + n
        elif wt == 1:
            v, i = buf[i:i + 8], i + 8
        elif wt == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise ValueError("wire type %d" % wt)
        fields.setdefault(no, []).append(v)
    return fields


def read_varint(buf, i):
    n = shift = 0
    while True:
        b = buf[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


class Reply:
    """A decoded reply Envelope: body number and its fields."""

    def __init__(self, payload):
        f = parse(payload)
        self.version = f.get(1, [0])[0]
        self.request_id = f.get(3, [0])[0]
        self.body = next((no for no in f if 10 <= no <= 23), None)
        self.fields = parse(f[self.body][0]) if self.body else {}

    def error(self):
        if self.body != ERROR:
            return None
        reason = self.fields.get(2, [b""])[0].decode(errors="replace")
        return ERR_NAMES.get(self.fields[1][0], str(self.fields[1][0])), reason

    def status(self):
        """JobStatus of a status, progress or result reply as a dict."""
        f = self.fields
        if self.body in (PROGRESS, RESULT):
            f = parse(f[1 if self.body == PROGRESS else 5][0])
        return {"job": f[1][0], "state": f.get(3, [0])[0], "done": f.get(4, [0])[0],
                "total": f.get(5, [0])[0],
                "message": f.get(6, [b""])[0].decode(errors="replace")}

    def items(self):
        """(question text, answer text) of a result page."""
        out = []
        for it in self.fields.get(4, []):
            f = parse(it)
            q, a = parse(f[1][0]), parse(f[2][0])
            out.append((q[3][0].decode(), a[3][0].decode()))
        return out


class Conn:
    def __init__(self, port, host="127.0.0.1", timeout=20.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def request(self, body_no, body=b"", **kw):
        self.send(frame(envelope(body_no, body, **kw)))

    def recv(self):
        """The next reply, or None when the server closed the connection."""
        while True:
            if len(self.buf) >= 4:
                n = struct.unpack(">I", self.buf[:4])[0]
                if len(self.buf) >= 4 + n:
                    payload, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
                    return Reply(payload)
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                return None
            if not data:
                return None
            self.buf += data

    def closed(self, timeout=10.0):
        """True when the server closes the connection within timeout."""
        self.sock.settimeout(timeout)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()


def wait_port(path, timeout=30.0):
    t0 = time.time()
    while time.time() - t0 < timeout:
        try:
            with open(path) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            time.sleep(0.02)
    raise RuntimeError("server did not write its port")


def terminate(proc, timeout=30.0):
    """SIGTERM a server process; its exit status (-9 when it had to be killed)."""
    import signal
    import subprocess
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return -9


def serves(port, token=None):
    """True when the server answers an Info request on a new connection."""
    c = Conn(port)
    c.request(INFO, token=token, request_id=42)
    r = c.recv()
    c.close()
    return r is not None and r.body == INFO_REPLY and r.request_id == 42
