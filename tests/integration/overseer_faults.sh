# The remote overseer (--task remote:...) against overseers that misbehave,
# are killed or come back: see overseer_faults.py. Skipped (exit 77) only
# where /usr/bin/python3 has no protobuf runtime (scripts/bootstrap
# installs python3-protobuf).
PY=/usr/bin/python3
if ! "$PY" -c 'import google.protobuf' 2>/dev/null; then
    echo "SKIP: $PY has no protobuf module (apt-get install python3-protobuf; scripts/bootstrap does)"
    exit 77
fi
exec "$PY" "$(dirname "$0")/overseer_faults.py" "${1:?usage: $0 path/to/iamp}"
