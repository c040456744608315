# Memory a client can make the server hold: see serve_memory.py.
exec /usr/bin/python3 "$(dirname "$0")/serve_memory.py" "${1:?usage: $0 path/to/iamp}"
