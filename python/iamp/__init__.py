"""iamp — a Python client of iamp's job server, `iamp serve`, and the
server side of a remote overseer (iamp.Overseer, iamp.overseer).

    import iamp
    with iamp.Client("127.0.0.1:7433") as c:
        job = c.submit(questions=["pow x=5 k=37", "pow x=3 k=2"], depth=1)
        c.wait(job)
        for item in c.result(job):
            print(item.question, "->", item.answer)

The protobuf bindings are generated from proto/iamp.proto by the build
into iamp/_generated/ (see iamp._proto); the wire format is the README's
"Serving jobs" protocol.
"""
from ._proto import pb
from .client import (DEFAULT_ADDR, FINAL_STATES, PROTOCOL_VERSION, Client, ConnectionError,
                     Error, Info, Item, Page, ServerError, Status, TimeoutError, TraceNode,
                     read_token_file)
from .overseer import Answer, Overseer, OverseerError, OverseerServer, Question, serve_overseer

__all__ = ["Client", "Error", "ServerError", "ConnectionError", "TimeoutError", "Status",
           "Item", "TraceNode", "Page", "Info", "read_token_file", "pb", "DEFAULT_ADDR",
           "FINAL_STATES", "PROTOCOL_VERSION", "Overseer", "OverseerError", "OverseerServer",
           "Question", "Answer", "serve_overseer"]
__version__ = "0.1.0"
