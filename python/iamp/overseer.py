"""iamp.overseer — an overseer H written in Python, served to iamp over TCP.

iamp is the client (`iamp train|answer --task remote:addr=HOST:PORT`); this
module is the server side of proto/iamp.proto's "remote overseer"
conversation: OverseerHello -> OverseerSchema, then for ever one
OverseerBatch -> one OverseerReplies (one reply per call, in order).
Frames as the job API's: a 4-byte big-endian length, then one message.

    import iamp

    class Pow(iamp.Overseer):
        task = "permpow:context=1"
        def primitive(self, q):              # k = 1: read x's fact
            ...
        def answer(self, q):                 # a generator, like the paper's
            y = yield iamp.Question(0, ...)  # recursive_answer: yield asks,
            z = yield iamp.Question(0, ...)  # receive their answers
            return [z.tokens[0]]

    Pow.main()                               # --listen HOST:PORT

Invariants: episodes live per connection, keyed by (run, episode), from a
CALL_START that did not end at once until the step that ends them, their
run's end (ended_runs) or an error in their run; a subquestion is on its
episode's facts, so asks are sent without them. Every error an overseer or
a batch can cause becomes OverseerReplies.error (one line naming the
episode and the exception) and the connection goes on; only a frame that
breaks the framing (over MAX_FRAME_BYTES, or a cut one) closes it. One
thread per connection (under mpirun every rank connects): the Overseer
object is shared by them, its episodes are not; with `serial = True` one
batch at a time is handled across all connections (a person at a terminal).
"""
import argparse
import signal
import socket
import struct
import sys
import threading
import types
from collections import namedtuple
from typing import Iterable, Optional

from ._proto import pb
from .client import _split_addr

OVERSEER_VERSION = 1
# The most questions one ASK may carry (proto/iamp.proto, REPLY_ASK).
MAX_ASKS = 16
MAX_FRAME_BYTES = 64 << 20
# Types are bits of OverseerSchema.primitive_types (a uint32).
MAX_TYPES = 32

Question = namedtuple("Question", "type tokens facts text", defaults=(None, None))
Question.__doc__ = """A question: its type and tokens (a tuple of ints), the
facts of its root (a tuple of facts, each a tuple of ints; None for a task
without facts) and its text (with want_text). An ask may be given by text
alone, Question(None, None, text="pow x=3 k=2"): iamp parses it. An ask's
facts are ignored: every subquestion is on its episode's facts."""

Answer = namedtuple("Answer", "tokens value text", defaults=(0.0, None))
Answer.__doc__ = """An answer: its tokens (a tuple of ints), a value
(continuous types and scores) and its text (with want_text)."""


class OverseerError(Exception):
    """A call or batch the overseer cannot serve: becomes the reply's error."""


class Overseer:
    """Subclass it: set `task`, override `primitive` and `answer`.

    task: the built-in task whose sampler, syntax, answer spaces and ground
    truth iamp uses ("permpow:context=1"); required. name: for iamp's
    messages (default: the class name). primitive_types: None (every type
    may be primitive) or the type ids that may be; iamp sends CALL_PRIMITIVE
    only for those, and primitive() is asked only about those. want_text:
    questions and answers arrive with their text (q.text, a.text). serial:
    handle one batch at a time across all connections.
    """
    task: Optional[str] = None
    name: Optional[str] = None
    primitive_types: Optional[Iterable[int]] = None
    want_text = False
    serial = False

    def primitive(self, q: Question):
        """The answer to q if H gives it itself (an Answer or a list of
        tokens), else None. Default: nothing is primitive."""
        return None

    def answer(self, q: Question):
        """A generator: yield a Question (receive its Answer) or a list of
        1..16 Questions (receive the list of their Answers), as often as
        needed; return the final Answer (or a list of tokens). A plain
        function returning the answer works too (an episode of no asks)."""
        raise NotImplementedError("%s.answer is not written" % type(self).__name__)

    # ------------------------------------------------------------ the CLI

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser):
        """Options of this overseer's main() beside --listen."""

    @classmethod
    def from_args(cls, args: argparse.Namespace):
        """The overseer main() serves, made from its parsed options."""
        return cls()

    @classmethod
    def main(cls, argv=None):
        """A command line: `--listen HOST:PORT` (default 127.0.0.1:0, a free
        port; the address is printed as `listening on HOST:PORT`). Returns
        the exit status."""
        parser = argparse.ArgumentParser(
            description="%s: an iamp overseer; run iamp with --task remote:addr=HOST:PORT"
            % (cls.name or cls.__name__))
        parser.add_argument("--listen", default="127.0.0.1:0", metavar="HOST:PORT",
                            help="address to listen on (port 0: a free one; default %(default)s)")
        cls.add_arguments(parser)
        args = parser.parse_args(argv)
        try:
            overseer = cls.from_args(args)
            serve_overseer(overseer, args.listen)
        except (OverseerError, ValueError, OSError) as e:
            print("%s: %s" % (parser.prog, e), file=sys.stderr)
            return 1
        return 0


# ------------------------------------------------------------ the schema


def _type_mask(types_) -> Optional[int]:
    if types_ is None:
        return None
    mask = 0
    for t in types_:
        t = int(t)
        if not 0 <= t < MAX_TYPES:
            raise OverseerError("primitive_types: type %d is not in [0, %d)" % (t, MAX_TYPES))
        mask |= 1 << t
    return mask


def _schema(overseer: Overseer, hello_version: int) -> pb.OverseerSchema:
    s = pb.OverseerSchema(version=OVERSEER_VERSION,
                          name=overseer.name or type(overseer).__name__)
    if hello_version != OVERSEER_VERSION:
        s.error = "protocol version %d: this overseer speaks version %d" % (
            hello_version, OVERSEER_VERSION)
    elif not overseer.task:
        s.error = "%s sets no task (the built-in task it is the H of)" % s.name
    else:
        s.task = overseer.task
        mask = _type_mask(overseer.primitive_types)
        if mask is not None:
            s.primitive_types = mask
        if overseer.want_text:
            s.want_text = True
    return s


# ------------------------------------------------------------ conversions


def _tokens_of(x, what):
    """An answer's tokens from an Answer, a list of ints or a tuple."""
    try:
        return [int(t) for t in x]
    except (TypeError, ValueError):
        raise OverseerError("%s: want an Answer or a list of tokens, not %r" % (what, x)) from None


def _fill_answer(msg, a, what):
    if isinstance(a, Answer):
        msg.tokens.extend(_tokens_of(a.tokens, what))
        # value only where it means something: a continuous answer (no
        # tokens) or a score given beside them.
        if a.value or not a.tokens:
            msg.value = float(a.value or 0.0)
    else:
        msg.tokens.extend(_tokens_of(a, what))


def _fill_ask(msg, q, what):
    if isinstance(q, str):
        q = Question(None, None, text=q)
    if not isinstance(q, Question):
        raise OverseerError("%s: want a Question, not %r" % (what, q))
    if q.tokens is not None:
        if q.type is None:
            raise OverseerError("%s: a question with tokens needs its type" % what)
        msg.type = int(q.type)
        msg.tokens.extend(int(t) for t in q.tokens)
    elif q.text:
        msg.text = q.text
    else:
        raise OverseerError("%s: a question needs (type, tokens) or text" % what)


class _Episode:
    """One running answer() generator; `many`: its last ask was a list."""
    __slots__ = ("gen", "n_asks", "many", "what")

    def __init__(self, gen, what):
        self.gen, self.what, self.n_asks, self.many = gen, what, 0, False


class _Conversation:
    """One connection's episodes and the handling of its batches."""

    def __init__(self, overseer: Overseer):
        self.h = overseer
        self.runs = {}  # run -> {episode id -> _Episode}
        mask = _type_mask(overseer.primitive_types)
        self.prim_mask = mask if mask is not None else (1 << MAX_TYPES) - 1

    def handle(self, batch: pb.OverseerBatch) -> pb.OverseerReplies:
        for run in batch.ended_runs:
            self.runs.pop(run, None)
        out = pb.OverseerReplies(run=batch.run)
        facts = [None] * len(batch.contexts)  # converted once, when a call names it
        episodes = self.runs.setdefault(batch.run, {})
        for i, call in enumerate(batch.calls):
            reply = out.replies.add()
            try:
                self._call(batch, facts, episodes, call, reply)
            except Exception as e:  # noqa: BLE001 - H is user code: any failure is the reply
                del out.replies[:]
                out.error = _one_line("run %d, call %d of %d (%s): %s" % (
                    batch.run, i + 1, len(batch.calls), _call_name(call, episodes),
                    _exc_text(e)))
                self.runs.pop(batch.run, None)  # the run fails: its episodes are dead
                return out
        if not episodes:
            self.runs.pop(batch.run, None)
        return out

    def _question(self, batch, facts, call) -> Question:
        if not call.HasField("question"):
            raise OverseerError("the call has no question")
        m = call.question
        f = None
        if m.HasField("context"):
            c = m.context
            if c >= len(batch.contexts):
                raise OverseerError("context %d of a batch of %d" % (c, len(batch.contexts)))
            f = facts[c]
            if f is None:
                f = facts[c] = _facts_of(batch.contexts[c], c)
        return Question(m.type, tuple(m.tokens), f, m.text if m.HasField("text") else None)

    def _primitive(self, q):
        """H's primitive answer to q, or None; types not declared primitive
        are never asked about."""
        if q.type >= MAX_TYPES or not (self.prim_mask >> q.type) & 1:
            return None
        return self.h.primitive(q)

    def _call(self, batch, facts, episodes, call, reply):
        kind = call.kind
        if kind == pb.CALL_PRIMITIVE:
            a = self._primitive(self._question(batch, facts, call))
            if a is None:
                reply.kind = pb.REPLY_NOT_PRIMITIVE
            else:
                reply.kind = pb.REPLY_DONE
                _fill_answer(reply.answer, a, "primitive()")
        elif kind == pb.CALL_START:
            if call.episode in episodes:
                raise OverseerError("episode %d is already running" % call.episode)
            q = self._question(batch, facts, call)
            a = self._primitive(q)
            if a is not None:
                reply.kind = pb.REPLY_DONE
                reply.primitive = True
                _fill_answer(reply.answer, a, "primitive()")
                return
            gen = self.h.answer(q)
            if not isinstance(gen, types.GeneratorType):  # answered without asking
                reply.kind = pb.REPLY_DONE
                _fill_answer(reply.answer, gen, "answer()")
                return
            ep = _Episode(gen, q)
            self._advance(ep, gen.send, None, reply)
            if reply.kind == pb.REPLY_ASK:
                episodes[call.episode] = ep
        elif kind == pb.CALL_STEP:
            ep = episodes.get(call.episode)
            if ep is None:
                raise OverseerError("unknown episode (never started, finished, or its "
                                    "run ended)")
            if len(call.answers) != ep.n_asks:
                raise OverseerError("%d answers to an ask of %d questions"
                                    % (len(call.answers), ep.n_asks))
            ans = [Answer(tuple(a.tokens), a.value, a.text if a.HasField("text") else None)
                   for a in call.answers]
            self._advance(ep, ep.gen.send, ans if ep.many else ans[0], reply)
            if reply.kind == pb.REPLY_DONE:
                del episodes[call.episode]
        else:
            raise OverseerError("unknown call kind %d" % kind)

    @staticmethod
    def _advance(ep, send, value, reply):
        """One step of ep's generator: the reply is its ASK or its DONE."""
        try:
            asks = send(value)
        except StopIteration as stop:
            reply.kind = pb.REPLY_DONE
            if stop.value is None:
                raise OverseerError("answer() returned no answer") from None
            _fill_answer(reply.answer, stop.value, "answer()'s return")
            return
        ep.many = isinstance(asks, (list, tuple)) and not isinstance(asks, Question)
        if not ep.many:
            asks = (asks,)
        if not 1 <= len(asks) <= MAX_ASKS:
            raise OverseerError("answer() asked %d questions (1..%d at a time)"
                                % (len(asks), MAX_ASKS))
        reply.kind = pb.REPLY_ASK
        for j, q in enumerate(asks):
            _fill_ask(reply.asks.add(), q, "ask %d" % (j + 1))
        ep.n_asks = len(asks)


def _facts_of(ctx, index):
    n = ctx.fact_len
    toks = ctx.tokens
    if n == 0 or len(toks) % n:
        raise OverseerError("context %d: %d tokens are not facts of %d" % (index, len(toks), n))
    return tuple(tuple(toks[i:i + n]) for i in range(0, len(toks), n))


def _call_name(call, episodes):
    kind = {pb.CALL_PRIMITIVE: "PRIMITIVE", pb.CALL_START: "START",
            pb.CALL_STEP: "STEP"}.get(call.kind, str(call.kind))
    what = "%s episode %d" % (kind, call.episode)
    ep = episodes.get(call.episode)
    q = ep.what if ep is not None else (call.question if call.HasField("question") else None)
    if q is not None:
        what += ": " + (q.text or "type %d tokens %s" % (q.type, " ".join(map(str, q.tokens))))
    return what


def _exc_text(e):
    if isinstance(e, OverseerError):
        return str(e)
    return "%s: %s" % (type(e).__name__, e) if str(e) else type(e).__name__


def _one_line(s):
    return " ".join(s.split())[:1000]


# ------------------------------------------------------------ the server


class _Closed(Exception):
    """The peer closed the connection, or broke the framing."""


def _recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(min(n - len(buf), 1 << 20))
        if not chunk:
            raise _Closed("closed" if not buf else "closed in the middle of a frame")
        buf += chunk
    return bytes(buf)


def _read_frame(sock):
    n = struct.unpack(">I", _recv_exact(sock, 4))[0]
    if n > MAX_FRAME_BYTES:
        raise _Closed("a frame of %d bytes (at most %d)" % (n, MAX_FRAME_BYTES))
    return _recv_exact(sock, n)


def _send(sock, msg):
    payload = msg.SerializeToString()
    sock.sendall(struct.pack(">I", len(payload)) + payload)


class OverseerServer:
    """A listening overseer: a thread per connection; serve_forever() in
    the caller's thread until close() (from any thread) or a signal."""

    def __init__(self, overseer: Overseer, addr: str = "127.0.0.1:0"):
        _schema(overseer, OVERSEER_VERSION)  # a bad primitive_types fails here, not per client
        self.overseer = overseer
        host, port = _split_addr(addr)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._sock.bind((host, port))
            self._sock.listen(64)
        except OSError as e:
            self._sock.close()
            raise OSError("cannot listen on %s: %s" % (addr, e.strerror or e)) from None
        self.host, self.port = self._sock.getsockname()[:2]
        self._lock = threading.Lock()  # serial overseers: one batch at a time
        self._conns = set()
        self._conns_lock = threading.Lock()
        self._closed = False

    def serve_forever(self):
        try:
            while not self._closed:
                try:
                    conn, peer = self._sock.accept()
                except OSError:
                    if self._closed:
                        return
                    raise
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                with self._conns_lock:
                    self._conns.add(conn)
                threading.Thread(target=self._serve_conn, args=(conn, peer), daemon=True,
                                 name="overseer %s:%d" % peer[:2]).start()
        finally:
            self.close()

    def close(self):
        """Stop listening and close every connection."""
        self._closed = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes an accept() in another thread
        except OSError:
            pass
        self._sock.close()
        with self._conns_lock:
            conns, self._conns = self._conns, set()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _serve_conn(self, conn, peer):
        conv = _Conversation(self.overseer)
        try:
            hello = pb.OverseerHello()
            try:
                hello.ParseFromString(_read_frame(conn))
            except _Closed:
                return
            except Exception as e:  # noqa: BLE001 - google.protobuf.message.DecodeError
                _send(conn, pb.OverseerSchema(version=OVERSEER_VERSION,
                                              error=_one_line("bad OverseerHello: %s" % e)))
                return
            schema = _schema(self.overseer, hello.version)
            _send(conn, schema)
            if schema.HasField("error"):
                return
            while True:
                try:
                    frame = _read_frame(conn)
                except _Closed as e:
                    if str(e) != "closed":
                        _send(conn, pb.OverseerReplies(run=0, error="bad frame: %s" % e))
                    return
                batch = pb.OverseerBatch()
                try:
                    batch.ParseFromString(frame)
                except Exception as e:  # noqa: BLE001 - DecodeError: the framing still holds
                    _send(conn, pb.OverseerReplies(
                        run=0, error=_one_line("undecodable OverseerBatch (%d bytes): %s"
                                               % (len(frame), e))))
                    continue
                if not batch.IsInitialized():  # the parser lets required fields go missing
                    _send(conn, pb.OverseerReplies(
                        run=batch.run, error=_one_line("malformed OverseerBatch: missing %s"
                                                       % ", ".join(
                                                           batch.FindInitializationErrors()))))
                    continue
                if self.overseer.serial:
                    with self._lock:
                        replies = conv.handle(batch)
                else:
                    replies = conv.handle(batch)
                _send(conn, replies)
        except OSError:
            pass  # the peer went away; nothing to tell it
        finally:
            with self._conns_lock:
                self._conns.discard(conn)
            conn.close()


def serve_overseer(overseer: Overseer, addr: str = "127.0.0.1:0", ready=None):
    """Serve overseer on addr until SIGTERM or Ctrl-C (then return).

    After listening: ready(host, port) if given, else print `listening on
    HOST:PORT` to stdout (port 0 picks a free one; scripts read the line).
    """
    server = OverseerServer(overseer, addr)
    if ready is not None:
        ready(server.host, server.port)
    else:
        print("listening on %s:%d" % (server.host, server.port), flush=True)

    def on_term(signum, frame):
        raise KeyboardInterrupt

    old = None
    if threading.current_thread() is threading.main_thread():
        old = signal.signal(signal.SIGTERM, on_term)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        if old is not None:
            signal.signal(signal.SIGTERM, old)
