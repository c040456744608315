# `iamp train --tensorboard DIR` read back by an independent reader: see
# tensorboard.py and tfevents.py (Python standard library only).
exec /usr/bin/python3 "$(dirname "$0")/tensorboard.py" "${1:?usage: $0 path/to/iamp}"
