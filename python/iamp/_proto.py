"""iamp._proto — the generated bindings of proto/iamp.proto.

The build (CMake, `protoc --python_out`) writes them to
python/iamp/_generated/iamp_pb2.py; they are never committed. Without them,
or without Debian's python3-protobuf, importing iamp fails with an
ImportError that says what to do.
"""
import os

_GENERATED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_generated")

try:
    import google.protobuf  # noqa: F401
except ImportError as e:  # pragma: no cover - depends on the machine
    raise ImportError(
        "iamp needs the protobuf runtime: apt-get install python3-protobuf "
        "(scripts/bootstrap does), and run it with /usr/bin/python3 or a venv "
        "made with --system-site-packages") from e

if not os.path.exists(os.path.join(_GENERATED, "iamp_pb2.py")):
    raise ImportError(
        "iamp's protobuf bindings are missing (%s/iamp_pb2.py): build the project "
        "(scripts/build build, or cmake --build build), which generates them from "
        "proto/iamp.proto with protoc (Debian's protobuf-compiler)" % _GENERATED)
try:
    from ._generated import iamp_pb2 as pb  # noqa: F401
except ImportError as e:
    raise ImportError(
        "iamp's protobuf bindings (%s/iamp_pb2.py) do not load with protobuf %s: %s; "
        "rebuild them with the protoc of the same release" % (
            _GENERATED, google.protobuf.__version__, e)) from e
