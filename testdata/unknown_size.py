#!/usr/bin/env python3
"""Rewrite a Matroska/WebM file so the Segment and every Cluster have an
"unknown" EBML data size, as produced by live muxers.

Usage: unknown_size.py INPUT OUTPUT

The size vint of each rewritten element keeps its original byte width; only
its value bits are set to all ones (e.g. width 8 -> 01 FF FF FF FF FF FF FF,
width 4 -> 1F FF FF FF, width 1 -> FF).  No bytes are inserted or removed, so
every other offset in the file (SeekHead, Cues) stays valid.  Cues and
SeekHead are left as they are.

No third-party dependencies.
"""

import sys

EBML_ID = 0x1A45DFA3
SEGMENT_ID = 0x18538067
CLUSTER_ID = 0x1F43B675


def read_id(buf, pos):
    """Return (id, width) of the EBML element ID at pos (marker bits kept)."""
    first = buf[pos]
    width = 1
    mask = 0x80
    while width <= 4 and not (first & mask):
        mask >>= 1
        width += 1
    if width > 4:
        raise ValueError("invalid element ID at offset %d" % pos)
    return int.from_bytes(buf[pos:pos + width], "big"), width


def read_size(buf, pos):
    """Return (value, width, is_unknown) of the EBML size vint at pos."""
    first = buf[pos]
    width = 1
    mask = 0x80
    while width <= 8 and not (first & mask):
        mask >>= 1
        width += 1
    if width > 8:
        raise ValueError("invalid size vint at offset %d" % pos)
    value = first & (mask - 1)
    for b in buf[pos + 1:pos + width]:
        value = (value << 8) | b
    unknown = value == (1 << (7 * width)) - 1
    return value, width, unknown


def unknown_vint(width):
    """All value bits set to one, keeping the length marker for width."""
    return ((1 << (7 * width + 1)) - 1).to_bytes(width, "big")


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: unknown_size.py INPUT OUTPUT")
    with open(sys.argv[1], "rb") as f:
        buf = bytearray(f.read())

    pos = 0
    seen_segment = False
    widths = {"segment": set(), "cluster": set()}
    clusters = 0
    while pos < len(buf):
        eid, idw = read_id(buf, pos)
        size, szw, unknown = read_size(buf, pos + idw)
        data = pos + idw + szw
        if eid == EBML_ID:
            pos = data + size
            continue
        if eid != SEGMENT_ID:
            raise ValueError("unexpected top-level element 0x%X at %d" % (eid, pos))
        if unknown:
            raise ValueError("input Segment already has unknown size")
        seen_segment = True
        seg_end = data + size
        buf[pos + idw:data] = unknown_vint(szw)
        widths["segment"].add(szw)
        child = data
        while child < seg_end:
            cid, cidw = read_id(buf, child)
            csize, cszw, cunknown = read_size(buf, child + cidw)
            if cunknown:
                raise ValueError("input already has unknown-size child at %d" % child)
            if cid == CLUSTER_ID:
                buf[child + cidw:child + cidw + cszw] = unknown_vint(cszw)
                widths["cluster"].add(cszw)
                clusters += 1
            child = child + cidw + cszw + csize
        if child != seg_end:
            raise ValueError("Segment children overrun the Segment end")
        pos = seg_end

    if not seen_segment:
        raise ValueError("no Segment found")
    with open(sys.argv[2], "wb") as f:
        f.write(buf)
    print("unknown_size.py: segment size width(s) %s, %d clusters with size width(s) %s"
          % (sorted(widths["segment"]), clusters, sorted(widths["cluster"])),
          file=sys.stderr)


if __name__ == "__main__":
    main()
