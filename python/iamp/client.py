"""iamp.client — a blocking client of `iamp serve`'s job API.

Written from proto/iamp.proto and the README's protocol section alone:
frames of a 4-byte big-endian length (of the Envelope, the 4 bytes not
counted) and one Envelope (version 1, the token when the server needs one,
a request id the reply echoes, one body). One TCP connection per Client,
opened on first use and again after it was lost; requests go one at a
time, except that Watch streams may run beside other requests (replies are
routed by request id). A Client is not thread-safe: one per thread.

Errors: ServerError for an Error reply (its .code is the ErrorCode's name
without ERR_, e.g. "NOT_FOUND", as the README lists them, and .reason the
server's line); ConnectionError when the server cannot be reached, the
connection is lost, or what came back is not a reply; TimeoutError when a
reply does not come in time. All three are iamp.Error.
"""
import builtins
import collections
import os
import socket
import struct
import time
from dataclasses import dataclass
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from ._proto import pb

PROTOCOL_VERSION = 1
DEFAULT_ADDR = "127.0.0.1:7433"
# A server with a token takes frames of at most --max-preauth-frame-bytes
# (64 KiB by default) until a request has carried the token: a larger one
# goes after an Info on the same connection (as the C client does).
PREAUTH_FRAME_BYTES = 4096
MAX_REPLY_FRAME_BYTES = 256 << 20

KINDS = {"answer": pb.JOB_ANSWER, "train": pb.JOB_TRAIN, "eval": pb.JOB_EVAL}
_KIND_NAMES = {v: k for k, v in KINDS.items()}
_STATE_NAMES = {pb.JOB_QUEUED: "queued", pb.JOB_RUNNING: "running", pb.JOB_DONE: "done",
                pb.JOB_FAILED: "failed", pb.JOB_CANCELED: "canceled"}
FINAL_STATES = ("done", "failed", "canceled")
# The server closes the connection after these.
_CLOSING_CODES = ("BAD_FRAME", "AUTH")


class Error(Exception):
    """Anything this client raises about the server or the connection."""


class ServerError(Error):
    """The server refused a request: an Error reply."""

    def __init__(self, code: str, reason: str, request_id: int = 0):
        super().__init__("%s (%s)" % (reason, code))
        self.code = code              # ErrorCode name without ERR_: "BAD_REQUEST", ...
        self.reason = reason          # the server's one line
        self.request_id = request_id  # 0: about the frame or connection


class ConnectionError(Error, builtins.ConnectionError):
    """No connection, a lost one, or bytes that are not a reply."""


class TimeoutError(Error, builtins.TimeoutError):
    """No reply within the timeout (the connection stays usable)."""


@dataclass(frozen=True)
class Status:
    """A job's JobStatus; absent optional fields are None."""
    job_id: int
    kind: str    # "answer", "train", "eval"
    state: str   # "queued", "running", "done", "failed", "canceled"
    done: int    # questions (answer, eval) or rounds (train) finished
    total: int
    message: str
    task: str
    depth: Optional[int]
    model_round: Optional[int]
    accuracy: Optional[float]
    amplified_accuracy: Optional[float]
    created_ms: Optional[int]
    finished_ms: Optional[int]

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES


_BY_NAMES = {pb.BY_MODEL: "model", pb.BY_PRIMITIVE: "primitive", pb.BY_OVERSEER: "overseer",
             pb.BY_SUBTREE: "subtree"}


@dataclass(frozen=True)
class TraceNode:
    """One node of a traced question's decomposition tree (TraceNode)."""
    question: str                  # texts in the task's form
    answer: str
    by: str                        # "model", "primitive", "overseer" (who answered it)
    parent: Optional[int]          # index of its parent in the same trace; None: the root
    depth_left: int                # levels H could still decompose below it
    step: int                      # the parent's episode step that asked it; 0: the root
    question_type: int
    question_tokens: Tuple[int, ...]
    answer_tokens: Tuple[int, ...]
    value: Optional[float]


@dataclass(frozen=True)
class Item:
    """One answered question of an answer job's result."""
    question: str                  # the question's text
    answer: str                    # the answer's text
    depth: int
    question_type: int
    question_tokens: Tuple[int, ...]
    answer_tokens: Tuple[int, ...]
    value: Optional[float]         # continuous answers and scores
    # A job submitted with trace=True: the question's tree in pre-order,
    # trace[0] the question itself (as `iamp answer --trace` records it);
    # () otherwise.
    trace: Tuple[TraceNode, ...] = ()


@dataclass(frozen=True)
class Page:
    """Items [offset, offset + len(items)) of a result of `total` items."""
    job_id: int
    offset: int
    total: int
    items: Tuple[Item, ...]
    status: Optional[Status]


@dataclass(frozen=True)
class Info:
    """What the server is (InfoReply)."""
    version: str
    ranks: int
    tasks: Tuple[str, ...]
    model_round: int
    model_task: str
    max_questions: int
    max_depth: int
    max_tree_nodes: int
    max_frame_bytes: int
    max_page_items: int
    jobs_queued: int
    jobs_total: int
    max_trace_nodes: int = 0  # per question of a traced job


Question = Union[str, Tuple[int, Sequence[int]], Tuple[int, Sequence[int], int]]


def _opt(msg, name):
    return getattr(msg, name) if msg.HasField(name) else None


def _status(st) -> Status:
    return Status(job_id=st.job_id, kind=_KIND_NAMES.get(st.kind, str(st.kind)),
                  state=_STATE_NAMES.get(st.state, str(st.state)), done=st.done,
                  total=st.total, message=st.message, task=st.task, depth=_opt(st, "depth"),
                  model_round=_opt(st, "model_round"), accuracy=_opt(st, "accuracy"),
                  amplified_accuracy=_opt(st, "amplified_accuracy"),
                  created_ms=_opt(st, "created_ms"), finished_ms=_opt(st, "finished_ms"))


def _trace_node(n) -> TraceNode:
    parent = n.parent if n.HasField("parent") and n.parent >= 0 else None
    return TraceNode(question=n.question.text, answer=n.answer.text,
                     by=_BY_NAMES.get(n.by, str(n.by)), parent=parent, depth_left=n.depth_left,
                     step=n.step, question_type=n.question.type,
                     question_tokens=tuple(n.question.tokens),
                     answer_tokens=tuple(n.answer.tokens), value=_opt(n.answer, "value"))


def _item(it) -> Item:
    return Item(question=it.question.text, answer=it.answer.text, depth=it.depth,
                question_type=it.question.type, question_tokens=tuple(it.question.tokens),
                answer_tokens=tuple(it.answer.tokens), value=_opt(it.answer, "value"),
                trace=tuple(_trace_node(n) for n in it.trace))


def _question(q, i):
    """A Question message from a text, (type, tokens) or (type, tokens, context)."""
    m = pb.Question()
    if isinstance(q, str):
        m.text = q
    elif isinstance(q, (tuple, list)) and len(q) in (2, 3):
        m.type = int(q[0])
        m.tokens.extend(int(t) for t in q[1])
        if len(q) == 3:
            m.context = int(q[2])
    else:
        raise TypeError("question %d: want a text or (type, tokens[, context]), not %r"
                        % (i + 1, q))
    return m


def _split_addr(addr) -> Tuple[str, int]:
    if isinstance(addr, tuple):
        return addr[0], int(addr[1])
    host, sep, port = addr.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError("address %r is not HOST:PORT" % (addr,))
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


def read_token_file(path: str) -> str:
    """The token: the first line of path (as `iamp --token-file` reads it)."""
    with open(path, "rb") as f:
        line = f.read(4096).splitlines()
    if not line or not line[0] or len(line[0]) > 256:
        raise ValueError("token file %s: the first line must hold 1 to 256 bytes" % path)
    return line[0].decode()


class Client:
    """A client of one `iamp serve`.

    addr: "HOST:PORT" or (host, port); default $IAMP_ADDR or 127.0.0.1:7433.
    token: the server's token; default the first line of $IAMP_TOKEN_FILE
    (or of token_file). timeout: seconds for connecting and for each reply.
    """

    def __init__(self, addr=None, token: Optional[str] = None, timeout: float = 30.0,
                 token_file: Optional[str] = None):
        self.addr = addr or os.environ.get("IAMP_ADDR") or DEFAULT_ADDR
        self._host, self._port = _split_addr(self.addr)
        token_file = token_file or (None if token is not None
                                    else os.environ.get("IAMP_TOKEN_FILE") or None)
        self.token = read_token_file(token_file) if token_file else token
        self.timeout = timeout
        self._sock = None
        self._buf = bytearray()
        self._next_id = 0
        self._authed = False
        self._streams = {}  # request id of a Watch -> deque of its Envelopes

    # ------------------------------------------------------------ connection

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Close the connection (the next request opens a new one)."""
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None
        self._buf.clear()
        self._authed = False
        self._streams.clear()

    def _connect(self):
        if self._sock is not None:
            return
        try:
            s = socket.create_connection((self._host, self._port), timeout=self.timeout)
        except socket.timeout:
            raise ConnectionError("cannot connect to %s: no answer within %g s"
                                  % (self.addr, self.timeout)) from None
        except OSError as e:
            raise ConnectionError("cannot connect to %s: %s" % (self.addr, e.strerror or e)) \
                from None
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = s

    def _lost(self, why):
        self.close()
        return ConnectionError("%s: %s" % (self.addr, why))

    def _send(self, body: str, msg) -> int:
        """Frame and send one request Envelope; its request id."""
        self._connect()
        self._next_id += 1
        env = pb.Envelope(version=PROTOCOL_VERSION, request_id=self._next_id)
        if self.token is not None:
            env.token = self.token
        getattr(env, body).CopyFrom(msg)
        payload = env.SerializeToString()
        if self.token is not None and not self._authed and len(payload) > PREAUTH_FRAME_BYTES:
            self._call("info", pb.Info(), "info_reply")  # authenticates the connection
            return self._send(body, msg)
        try:
            self._sock.sendall(struct.pack(">I", len(payload)) + payload)
        except OSError as e:
            raise self._lost("connection lost: %s" % (e.strerror or e)) from None
        return env.request_id

    def _read_envelope(self, deadline: Optional[float], waits: Optional[float]):
        """The next Envelope from the server; TimeoutError past deadline
        (waits: the seconds it stands for, for the message)."""
        while True:
            if len(self._buf) >= 4:
                n = struct.unpack(">I", self._buf[:4])[0]
                if n > MAX_REPLY_FRAME_BYTES:
                    raise self._lost("reply frame of %d bytes" % n)
                if len(self._buf) >= 4 + n:
                    payload = bytes(self._buf[4:4 + n])
                    del self._buf[:4 + n]
                    env = pb.Envelope()
                    try:
                        env.ParseFromString(payload)
                    except Exception as e:  # google.protobuf.message.DecodeError
                        raise self._lost("undecodable reply: %s" % e) from None
                    return env
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError("%s: no reply within %g s" % (self.addr, waits))
            self._sock.settimeout(left)
            try:
                data = self._sock.recv(65536)
            except socket.timeout:
                raise TimeoutError("%s: no reply within %g s" % (self.addr, waits)) from None
            except OSError as e:
                raise self._lost("connection lost: %s" % (e.strerror or e)) from None
            if not data:
                raise self._lost("connection closed by the server")
            self._buf += data

    def _raise_error(self, env):
        err = env.error
        try:
            code = pb.ErrorCode.Name(err.code)[len("ERR_"):]
        except ValueError:  # a code newer than these bindings
            code = str(err.code)
        if code in _CLOSING_CODES:
            self.close()
        raise ServerError(code, err.reason, env.request_id)

    def _wait_reply(self, rid: int, timeout: Optional[float]):
        """The Envelope answering request rid within timeout seconds (None:
        for ever); replies to other streams are queued for them."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            q = self._streams.get(rid)
            if q:
                return q.popleft()
            env = self._read_envelope(deadline, timeout)
            if env.request_id == rid or env.request_id == 0:
                return env  # id 0: an Error about the frame or the connection
            other = self._streams.get(env.request_id)
            if other is not None:
                other.append(env)
            # else: a late reply to a request that timed out, or to a closed watch

    def _check(self, env, want: str):
        body = env.WhichOneof("body")
        if body == "error":
            self._raise_error(env)
        if body != want:
            raise self._lost("unexpected reply %r (wanted %r)" % (body, want))
        return getattr(env, want)

    def _call(self, body: str, msg, want: str):
        rid = self._send(body, msg)
        reply = self._check(self._wait_reply(rid, self.timeout), want)
        self._authed = True
        return reply

    # ------------------------------------------------------------ requests

    def submit(self, task: Optional[str] = None, questions: Iterable[Question] = (),
               depth: Optional[int] = None, *, kind: str = "answer",
               algo: Optional[str] = None, rounds: Optional[int] = None,
               seed: Optional[int] = None, questions_per_round: Optional[int] = None,
               eval_size: Optional[int] = None, key: Optional[str] = None,
               contexts: Iterable[Tuple[int, Sequence[int]]] = (), trace: bool = False) -> int:
        """Submit a job (SubmitJob); its id once the server has journaled it.

        task: the served model's task spec (None: whatever it serves).
        questions (answer): texts ("pow x=5 k=37") or (type, tokens) or
        (type, tokens, context index). depth (answer, eval): None is the
        server's default, 1. kind "train" takes algo, rounds (required),
        seed, questions_per_round; "eval" takes eval_size. key: an
        idempotency key. contexts: (fact_len, tokens) per instance.
        trace (answer): the server records each question's decomposition
        tree; result() items carry it as .trace.
        """
        if kind not in KINDS:
            raise ValueError("kind %r: want one of %s" % (kind, ", ".join(KINDS)))
        m = pb.SubmitJob(kind=KINDS[kind])
        if task is not None:
            m.task = task
        if depth is not None:
            m.depth = depth
        m.questions.extend(_question(q, i) for i, q in enumerate(questions))
        if kind == "train":
            t = m.train
            t.SetInParent()
            for name, v in (("algo", algo), ("rounds", rounds), ("seed", seed),
                            ("questions_per_round", questions_per_round)):
                if v is not None:
                    setattr(t, name, v)
        elif any(v is not None for v in (algo, rounds, seed, questions_per_round)):
            raise ValueError("algo, rounds, seed and questions_per_round are for train jobs")
        if eval_size is not None:
            m.eval_size = eval_size
        if key is not None:
            m.client_key = key
        if trace:
            m.trace = True
        for fact_len, tokens in contexts:
            m.contexts.add(fact_len=fact_len, tokens=list(tokens))
        return self._call("submit", m, "accepted").job_id

    def status(self, job_id: int) -> Status:
        """The job's status (GetStatus)."""
        return _status(self._call("get_status", pb.GetStatus(job_id=job_id), "status"))

    def watch(self, job_id: int, timeout: Optional[float] = None) -> Iterator[Status]:
        """Statuses of the job as the server pushes them (Watch), the first at
        once, until one with a final state. timeout: seconds to wait for each
        (None: for ever). The Watch is sent now; errors such as NOT_FOUND
        raise when the first status is read."""
        rid = self._send("watch", pb.Watch(job_id=job_id))
        self._streams[rid] = collections.deque()
        return _Watch(self, rid, timeout)

    def wait(self, job_id: int, timeout: Optional[float] = None) -> Status:
        """Wait until the job ends; its final status (whatever the state:
        check .state). timeout: seconds in all (None: for ever)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        w = self.watch(job_id)
        try:
            while True:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    st = w._next(left)
                except TimeoutError:
                    raise TimeoutError("%s: job %d did not end within %g s"
                                       % (self.addr, job_id, timeout)) from None
                if st.final:
                    return st
        finally:
            w.close()

    def result_page(self, job_id: int, offset: int = 0, limit: Optional[int] = None) -> Page:
        """One page of a finished answer job's results (GetResult)."""
        m = pb.GetResult(job_id=job_id, offset=offset)
        if limit is not None:
            m.limit = limit
        p = self._call("get_result", m, "result")
        return Page(job_id=p.job_id, offset=p.offset, total=p.total,
                    items=tuple(_item(it) for it in p.items),
                    status=_status(p.status) if p.HasField("status") else None)

    def result(self, job_id: int) -> List[Item]:
        """Every answer of a finished answer job, in question order (all
        pages); [] for a train or eval job. NOT_DONE while it runs or when
        it did not end done."""
        items: List[Item] = []
        while True:
            page = self.result_page(job_id, offset=len(items))
            items.extend(page.items)
            if not page.items or len(items) >= page.total:
                return items

    def answer(self, questions: Iterable[Question], depth: Optional[int] = None,
               task: Optional[str] = None, timeout: Optional[float] = None,
               trace: bool = False) -> List[Item]:
        """Submit an answer job, wait for it and return its answers (with
        trace=True each with its tree); a job that does not end done raises
        ServerError NOT_DONE with the server's reason."""
        job = self.submit(task, questions, depth, trace=trace)
        self.wait(job, timeout)
        return self.result(job)

    def cancel(self, job_id: int) -> Status:
        """Ask an unfinished job to end CANCELED (a train job after its current
        round); its status once the request is journaled, which may still be
        unfinished: wait() gives the end."""
        return _status(self._call("cancel", pb.Cancel(job_id=job_id), "status"))

    def jobs(self, limit: Optional[int] = None) -> List[Status]:
        """The server's jobs, newest first (ListJobs; the server's default 100)."""
        m = pb.ListJobs()
        if limit is not None:
            m.limit = limit
        return [_status(st) for st in self._call("list_jobs", m, "job_list").jobs]

    def info(self) -> Info:
        """The server's version, served model and limits (Info)."""
        r = self._call("info", pb.Info(), "info_reply")
        return Info(version=r.version, ranks=r.ranks, tasks=tuple(r.tasks),
                    model_round=r.model_round, model_task=r.model_task,
                    max_questions=r.max_questions, max_depth=r.max_depth,
                    max_tree_nodes=r.max_tree_nodes, max_frame_bytes=r.max_frame_bytes,
                    max_page_items=r.max_page_items, jobs_queued=r.jobs_queued,
                    jobs_total=r.jobs_total, max_trace_nodes=r.max_trace_nodes)


class _Watch:
    """The iterator watch() returns; close() (or the end) stops following."""

    def __init__(self, client: Client, rid: int, timeout: Optional[float]):
        self._c, self._rid, self._timeout, self._done = client, rid, timeout, False

    def __iter__(self):
        return self

    def __next__(self) -> Status:
        if self._done:
            raise StopIteration
        return self._next(self._timeout)

    def _next(self, timeout: Optional[float]) -> Status:
        c = self._c
        if c._sock is None or self._rid not in c._streams:
            self._done = True
            raise c._lost("the connection of this watch was closed")
        try:
            st = _status(c._check(c._wait_reply(self._rid, timeout), "progress").status)
        except ServerError:
            self.close()
            raise
        if st.final:
            self.close()
        return st

    def close(self):
        self._done = True
        self._c._streams.pop(self._rid, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
