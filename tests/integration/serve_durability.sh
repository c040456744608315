# SIGKILL durability of iamp serve, a few cycles (scripts/durability runs more):
# see durability.py.
exec /usr/bin/python3 "$(dirname "$0")/durability.py" "${1:?usage: $0 path/to/iamp}" --cycles 3 --clients 4
