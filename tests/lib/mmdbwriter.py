"""A small MaxMind DB writer (format 2.0), so tests can build the .mmdb files
that `--geoip` reads: no Debian package writes them, and the databases
operators license are far too large (and not ours) to commit.

The file is three parts:
- a binary search tree over the 128 bits of an IPv6 address (IPv4
  networks live under ::/96): node_count nodes of two records each (bit 0
  left, bit 1 right), a record being another node's number, node_count for
  "no data", or node_count + 16 + an offset into the data section;
- 16 zero bytes, then the data section: each network's value in MaxMind's
  typed encoding (a control byte with the type in its top 3 bits and the
  size in the low 5, extended types and longer sizes in the bytes after);
- the marker b"\\xab\\xcd\\xefMaxMind.com" and the metadata map.

Only the standard library.  As a program it writes a file from a JSON
description (tests/meson.build uses it for the unit tests' database):

    python3 mmdbwriter.py SPEC.json OUT.mmdb

SPEC: {"database_type": "...", "record_size": 24|28|32 (optional),
       "alias_ipv4_mapped": false (optional: no ::ffff:0:0/96 alias),
       "networks": [["10.62.1.0/24", {...value...}], ...]}
"""

import collections
import ipaddress
import json
import struct
import sys
import time

METADATA_MARKER = b"\xab\xcd\xefMaxMind.com"

# Type numbers of the data section.
POINTER, UTF8, DOUBLE, BYTES, UINT16, UINT32, MAP = 1, 2, 3, 4, 5, 6, 7
INT32, UINT64, UINT128, ARRAY, BOOLEAN, FLOAT = 8, 9, 10, 11, 14, 15


class UInt16(int):
    """An int written as uint16 (metadata's record_size, ip_version...)."""


class UInt32(int):
    pass


class UInt64(int):
    pass


class UInt128(int):
    pass


class Int32(int):
    pass


class Float32(float):
    """A float written as a 4-byte float (plain floats are doubles)."""


def _control(kind, size):
    """The control byte(s) of a value of this type and size."""
    if size < 29:
        low, extra = size, b""
    elif size < 29 + 256:
        low, extra = 29, bytes([size - 29])
    elif size < 285 + 65536:
        low, extra = 30, (size - 285).to_bytes(2, "big")
    elif size < 65821 + (1 << 24):
        low, extra = 31, (size - 65821).to_bytes(3, "big")
    else:
        raise ValueError("value too large for the MaxMind DB format: %d" % size)
    if kind <= 7:
        return bytes([(kind << 5) | low]) + extra
    return bytes([low, kind - 7]) + extra   # extended: type 0, then type - 7


def _uint(kind, value, width):
    if value < 0 or value >= 1 << (8 * width):
        raise ValueError("%d does not fit in %d bytes" % (value, width))
    payload = value.to_bytes(width, "big").lstrip(b"\0")
    return _control(kind, len(payload)) + payload


def encode(value):
    """One value in the data section's encoding (no pointers)."""
    if isinstance(value, bool):
        return _control(BOOLEAN, int(value))
    if isinstance(value, UInt16):
        return _uint(UINT16, value, 2)
    if isinstance(value, UInt32):
        return _uint(UINT32, value, 4)
    if isinstance(value, UInt64):
        return _uint(UINT64, value, 8)
    if isinstance(value, UInt128):
        return _uint(UINT128, value, 16)
    if isinstance(value, Int32):
        if not -(1 << 31) <= value < 1 << 31:
            raise ValueError("%d is not an int32" % value)
        payload = struct.pack(">i", value)
        if value >= 0:
            payload = payload.lstrip(b"\0")
        return _control(INT32, len(payload)) + payload
    if isinstance(value, int):
        if value < 0:
            return encode(Int32(value))
        return encode(UInt32(value) if value < 1 << 32 else UInt64(value))
    if isinstance(value, Float32):
        return _control(FLOAT, 4) + struct.pack(">f", value)
    if isinstance(value, float):
        return _control(DOUBLE, 8) + struct.pack(">d", value)
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return _control(UTF8, len(raw)) + raw
    if isinstance(value, (bytes, bytearray)):
        return _control(BYTES, len(value)) + bytes(value)
    if isinstance(value, dict):
        out = [_control(MAP, len(value))]
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError("map keys are strings, not %r" % (k,))
            out.append(encode(k))
            out.append(encode(v))
        return b"".join(out)
    if isinstance(value, (list, tuple)):
        return _control(ARRAY, len(value)) + b"".join(encode(v) for v in value)
    raise TypeError("no MaxMind DB type for %r" % (value,))


class _Node:
    __slots__ = ("children", "number")

    def __init__(self, left=None, right=None):
        self.children = [left, right]   # None, a _Node, or an int: a data index
        self.number = None


class Writer:
    """Networks and their values, written as an IPv6 database (IPv4
    networks under ::/96).  A later insert of the same or a covering
    network replaces what it covers; a more specific one splits it."""

    def __init__(self, database_type="Stagecast-Test", description=None, languages=("en",),
                 record_size=None, build_epoch=None, alias_ipv4_mapped=True):
        self.database_type = database_type
        self.description = description or {"en": "Stagecast test database"}
        self.languages = list(languages)
        self.record_size = record_size
        self.build_epoch = int(time.time()) if build_epoch is None else build_epoch
        self.alias_ipv4_mapped = alias_ipv4_mapped
        self.root = _Node()
        self.values = []        # encoded values, by data index
        self._index = {}        # encoded value -> data index

    def insert(self, network, value):
        net = ipaddress.ip_network(network, strict=False)
        if net.version == 4:
            bits, depth = int(net.network_address), 96 + net.prefixlen
        else:
            bits, depth = int(net.network_address), net.prefixlen
        if depth == 0:
            raise ValueError("a value for every address: insert two halves instead")
        raw = encode(value)
        data = self._index.setdefault(raw, len(self.values))
        if data == len(self.values):
            self.values.append(raw)
        node = self.root
        for i in range(depth):
            bit = (bits >> (127 - i)) & 1
            if i == depth - 1:
                node.children[bit] = data
                break
            child = node.children[bit]
            if not isinstance(child, _Node):
                child = _Node(child, child)   # None stays empty; a value is split
                node.children[bit] = child
            node = child

    def _nodes(self):
        """Every node in breadth-first order, numbered; the IPv4-mapped
        alias (::ffff:0:0/96) points at the IPv4 subtree, as MaxMind's own
        databases do."""
        if self.alias_ipv4_mapped:
            v4 = self.root
            for _ in range(96):
                v4 = v4.children[0] if isinstance(v4, _Node) else None
            if isinstance(v4, _Node):
                node = self.root
                mapped = int(ipaddress.ip_address("::ffff:0:0"))
                for i in range(95):
                    bit = (mapped >> (127 - i)) & 1
                    child = node.children[bit]
                    if not isinstance(child, _Node):
                        child = _Node(child, child)
                        node.children[bit] = child
                    node = child
                node.children[(mapped >> 32) & 1] = v4
        order, seen, queue = [], set(), collections.deque([self.root])
        while queue:
            node = queue.popleft()
            if id(node) in seen:
                continue
            seen.add(id(node))
            node.number = len(order)
            order.append(node)
            queue.extend(c for c in node.children if isinstance(c, _Node))
        return order

    def to_bytes(self):
        nodes = self._nodes()
        count = len(nodes)
        offsets, data = [], bytearray()
        for raw in self.values:
            offsets.append(len(data))
            data += raw
        largest = count + 16 + len(data)
        size = self.record_size or next(s for s in (24, 28, 32) if largest < 1 << s)
        if largest >= 1 << size:
            raise ValueError("record_size %d is too small for this database" % size)

        def record(child):
            if child is None:
                return count
            if isinstance(child, _Node):
                return child.number
            return count + 16 + offsets[child]

        tree = bytearray()
        for node in nodes:
            left, right = (record(c) for c in node.children)
            if size == 24:
                tree += left.to_bytes(3, "big") + right.to_bytes(3, "big")
            elif size == 28:
                middle = ((left >> 24) << 4) | (right >> 24)
                tree += (left & 0xFFFFFF).to_bytes(3, "big") + bytes([middle]) \
                    + (right & 0xFFFFFF).to_bytes(3, "big")
            else:
                tree += left.to_bytes(4, "big") + right.to_bytes(4, "big")
        metadata = {
            "node_count": UInt32(count),
            "record_size": UInt16(size),
            "ip_version": UInt16(6),
            "database_type": self.database_type,
            "languages": self.languages,
            "binary_format_major_version": UInt16(2),
            "binary_format_minor_version": UInt16(0),
            "build_epoch": UInt64(self.build_epoch),
            "description": self.description,
        }
        return bytes(tree) + b"\0" * 16 + bytes(data) + METADATA_MARKER + encode(metadata)

    def write(self, path):
        with open(path, "wb") as f:
            f.write(self.to_bytes())


def from_spec(spec):
    w = Writer(database_type=spec.get("database_type", "Stagecast-Test"),
               record_size=spec.get("record_size"),
               alias_ipv4_mapped=spec.get("alias_ipv4_mapped", True))
    for network, value in spec["networks"]:
        w.insert(network, value)
    return w


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: mmdbwriter.py SPEC.json OUT.mmdb\n")
        return 2
    with open(argv[1]) as f:
        spec = json.load(f)
    from_spec(spec).write(argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
