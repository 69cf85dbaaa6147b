#!/usr/bin/env python3
"""Draws Gridwatch's icon (a pulse over a dark tile) as RGBA PNGs, no dependencies.

Run from the repository root: python3 scripts/make-icons.py
"""
import math
import struct
import zlib

BG = (15, 42, 68)
FG = (255, 196, 0)
# The pulse, in unit coordinates: flat, a sharp spike, a dip, flat.
PULSE = [(0.12, 0.58), (0.36, 0.58), (0.46, 0.24), (0.58, 0.78), (0.66, 0.50), (0.88, 0.50)]


def seg_dist(px, py, ax, ay, bx, by):
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    cx, cy = ax + t * dx, ay + t * dy
    return math.hypot(px - cx, py - cy)


def pixel(u, v, size):
    # Rounded tile with 4x supersampling at the edge handled by coverage below.
    r = 0.18
    qx, qy = abs(u - 0.5) - (0.5 - r), abs(v - 0.5) - (0.5 - r)
    outside = math.hypot(max(qx, 0), max(qy, 0)) - r
    if outside > 0:
        return None
    d = min(seg_dist(u, v, *PULSE[i], *PULSE[i + 1]) for i in range(len(PULSE) - 1))
    return FG if d < 0.045 else BG


def render(size):
    rows = []
    ss = 4
    for y in range(size):
        row = bytearray([0])
        for x in range(size):
            acc = [0, 0, 0, 0]
            for sy in range(ss):
                for sx in range(ss):
                    c = pixel((x + (sx + 0.5) / ss) / size, (y + (sy + 0.5) / ss) / size, size)
                    if c is not None:
                        acc[0] += c[0]; acc[1] += c[1]; acc[2] += c[2]; acc[3] += 255
            n = ss * ss
            a = acc[3] // n
            if a == 0:
                row += bytes(4)
            else:
                cov = acc[3] // 255
                row += bytes([acc[0] // cov, acc[1] // cov, acc[2] // cov, a])
        rows.append(bytes(row))
    raw = b"".join(rows)

    def chunk(tag, data):
        c = struct.pack(">I", len(data)) + tag + data
        return c + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


for name, size in [("32x32.png", 32), ("128x128.png", 128), ("128x128@2x.png", 256), ("icon.png", 512)]:
    with open(f"icons/{name}", "wb") as f:
        f.write(render(size))
    print("wrote", name)
