# Bad input against a real server: see serve_badinput.py.
exec /usr/bin/python3 "$(dirname "$0")/serve_badinput.py" "${1:?usage: $0 path/to/iamp}"
