# The terminal overseer (python/examples/human_overseer.py) driven by scripted input: see
# human_overseer.py. Skipped (exit 77) only where /usr/bin/python3 has no protobuf
# runtime; scripts/bootstrap installs python3-protobuf.
PY=/usr/bin/python3
if ! "$PY" -c 'import google.protobuf' 2>/dev/null; then
    echo "SKIP: $PY has no protobuf module (apt-get install python3-protobuf; scripts/bootstrap does)"
    exit 77
fi
exec "$PY" "$(dirname "$0")/human_overseer.py" "${1:?usage: $0 path/to/iamp}"
