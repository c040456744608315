"""tfevents — a small, independent reader of TensorBoard event files for
the tests (Python standard library only; nothing shared with iamp's C).

TFRecord framing: a little-endian uint64 length, the masked CRC-32C of
those 8 bytes (uint32), the data, the masked CRC-32C of the data, with
mask(c) = ((c >> 15) | (c << 17)) + 0xa282ead8 (mod 2^32). The data is an
`Event` (tensorflow/core/util/event.proto): wall_time = 1 (double), step = 2
(int64), file_version = 3 (string), summary = 5 (Summary: value = 1,
repeated Value {tag = 1 string, simple_value = 2 float}); decoded by hand.

Usage as a program: tfevents.py FILE... prints one JSON object per event.
"""
import json
import struct
import sys


class CorruptRecord(ValueError):
    """A record whose framing or CRC does not check out."""


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def masked_crc(data):
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value


def records(buf):
    """The data of every record in buf; CorruptRecord at the first bad one."""
    out, i = [], 0
    while i < len(buf):
        if len(buf) - i < 12:
            raise CorruptRecord("offset %d: truncated record header" % i)
        head = buf[i:i + 8]
        (n,) = struct.unpack("<Q", head)
        (hcrc,) = struct.unpack("<I", buf[i + 8:i + 12])
        if hcrc != masked_crc(head):
            raise CorruptRecord("offset %d: length CRC mismatch" % i)
        if len(buf) - i - 12 < n + 4:
            raise CorruptRecord("offset %d: truncated record of %d bytes" % (i, n))
        data = buf[i + 12:i + 12 + n]
        (dcrc,) = struct.unpack("<I", buf[i + 12 + n:i + 16 + n])
        if dcrc != masked_crc(data):
            raise CorruptRecord("offset %d: data CRC mismatch" % i)
        out.append(data)
        i += 16 + n
    return out


def _varint(buf, i):
    n = shift = 0
    while True:
        if i >= len(buf):
            raise CorruptRecord("truncated varint")
        b = buf[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def fields(buf):
    """(field number, wire type, value) of one message."""
    out, i = [], 0
    while i < len(buf):
        key, i = _varint(buf, i)
        no, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(buf, i)
        elif wt == 1:
            v, i = buf[i:i + 8], i + 8
        elif wt == 2:
            n, i = _varint(buf, i)
            v, i = buf[i:i + n], i + n
        elif wt == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise CorruptRecord("wire type %d" % wt)
        if i > len(buf):
            raise CorruptRecord("field %d runs past its message" % no)
        out.append((no, wt, v))
    return out


def event(data):
    """An Event as {"wall_time", "step", "file_version", "scalars": {tag: value}}."""
    ev = {"wall_time": None, "step": 0, "file_version": None, "scalars": {}}
    for no, wt, v in fields(data):
        if no == 1 and wt == 1:
            ev["wall_time"] = struct.unpack("<d", v)[0]
        elif no == 2 and wt == 0:
            ev["step"] = v - (1 << 64) if v >= 1 << 63 else v
        elif no == 3 and wt == 2:
            ev["file_version"] = v.decode()
        elif no == 5 and wt == 2:
            for sno, swt, value in fields(v):
                if sno != 1 or swt != 2:
                    continue
                tag, simple = None, None
                for vno, vwt, x in fields(value):
                    if vno == 1 and vwt == 2:
                        tag = x.decode()
                    elif vno == 2 and vwt == 5:
                        simple = struct.unpack("<f", x)[0]
                if tag is None or simple is None:
                    raise CorruptRecord("a summary value without tag or simple_value")
                if tag in ev["scalars"]:
                    raise CorruptRecord("tag %s twice in one event" % tag)
                ev["scalars"][tag] = simple
    return ev


def read(path):
    with open(path, "rb") as f:
        return [event(r) for r in records(f.read())]


if __name__ == "__main__":
    for p in sys.argv[1:]:
        for ev in read(p):
            print(json.dumps(ev, sort_keys=True))
