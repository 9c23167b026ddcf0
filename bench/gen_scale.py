#!/usr/bin/env python3
"""gen_scale.py CASE OUTDIR N - checkpoint pairs that are large in COUNT, not
in bytes, for bench/resources.sh (how time and memory grow with the input).

Writes OUTDIR/src (BF16) and OUTDIR/dst (its MXFP4 conversion, faithful: verify
passes unless the case says otherwise). N is the size of the case:

  tensors   N source tensors in one model.safetensors; every QUANT_EVERY-th
            (default 8) is a BF16 [64] that DST quantizes (m.I.w ->
            m.I.w_blocks [2, 16] + m.I.w_scales [2], scale exponents varying
            per tensor), the others BF16 [2] kept (m.I.n, pattern "m.*.n").
  findings  as tensors, but DST's modules_to_not_convert is empty, so every
            kept tensor is a coverage.should_quantize error: one finding per
            kept tensor.
  index     as tensors, over SHARDS (default 8) shards listed by a
            model.safetensors.index.json of N entries on both sides.
  patterns  100 source tensors as in tensors; DST's config.json holds N
            modules_to_not_convert patterns "m.J.n" (J < N): those naming a
            kept tensor match it, the others are stale (a warning each).
  header    one model.safetensors per side whose header is N bytes of the
            smallest tensors there are (U8, shape [0], data_offsets [0, 0]),
            all kept (pattern "z*"): the most tensors a header of N bytes holds.

Output is a function of the arguments only. Python is a dependency of the
tests and benchmarks, never of the tool.
"""
import json
import os
import struct
import sys

E2M1 = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0]
BLOCK = 32
HEADER_ALIGN = 8
SCALE_BIAS = 127


def bf16(v):
    """BF16 bits of v (every value here is exact in BF16)."""
    return struct.unpack("<I", struct.pack("<f", v))[0] >> 16


def block_pair(k0, k1):
    """Source bytes of a [64] BF16 tensor whose two blocks have amax 6 * 2^k,
    and its exact MXFP4 form: code j % 16 for element j, scale byte 127 + k."""
    src = bytearray()
    for k in (k0, k1):
        for j in range(BLOCK):
            src += struct.pack("<H", bf16(E2M1[j % 16] * 2.0 ** k))
    blocks = bytearray()
    for _ in (k0, k1):
        for i in range(BLOCK // 2):
            blocks.append(((2 * i) % 16) | (((2 * i + 1) % 16) << 4))
    scales = bytes([SCALE_BIAS + k0, SCALE_BIAS + k1])
    return bytes(src), bytes(blocks), scales


PAIRS = {(k0, k1): block_pair(k0, k1) for k0 in range(-2, 3) for k1 in range(0, 3)}
KEPT = struct.pack("<HH", bf16(1.0), bf16(-0.5))


class Shard:
    """One .safetensors file: header entries and data chunks in order."""

    def __init__(self):
        self.entries = []
        self.chunks = []
        self.size = 0

    def add(self, name, dtype, shape, data):
        begin = self.size
        self.size += len(data)
        self.chunks.append(data)
        self.entries.append('"%s":{"dtype":"%s","shape":[%s],"data_offsets":[%d,%d]}'
                            % (name, dtype, ",".join(map(str, shape)), begin, self.size))

    def write(self, path):
        header = ("{" + ",".join(self.entries) + "}").encode()
        header += b" " * (-len(header) % HEADER_ALIGN)
        with open(path, "wb") as f:
            f.write(struct.pack("<Q", len(header)))
            f.write(header)
            f.write(b"".join(self.chunks))


def model(count, quant_every):
    """(name, quantized, k0, k1) of each source tensor."""
    for i in range(count):
        if i % quant_every == 0:
            yield "m.%d.w" % i, True, i % 5 - 2, (i // 5) % 3
        else:
            yield "m.%d.n" % i, False, 0, 0


def write_config(path, patterns):
    cfg = {"model_type": "scale-bench",
           "quantization_config": {"quant_method": "mxfp4", "modules_to_not_convert": patterns}}
    with open(path, "w") as f:
        json.dump(cfg, f)


def write_index(path, weight_map, total):
    with open(path, "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f)


def write_pair(out, count, quant_every, shards, patterns):
    src = [Shard() for _ in range(shards)]
    dst = [Shard() for _ in range(shards)]
    names = ["model-%05d-of-%05d.safetensors" % (s + 1, shards) for s in range(shards)]
    src_map, dst_map = {}, {}
    for i, (name, quantized, k0, k1) in enumerate(model(count, quant_every)):
        s = i * shards // count
        if quantized:
            data, blocks, scales = PAIRS[(k0, k1)]
            src[s].add(name, "BF16", [2 * BLOCK], data)
            dst[s].add(name + "_blocks", "U8", [2, BLOCK // 2], blocks)
            dst[s].add(name + "_scales", "U8", [2], scales)
            dst_map[name + "_blocks"] = dst_map[name + "_scales"] = names[s]
        else:
            src[s].add(name, "BF16", [2], KEPT)
            dst[s].add(name, "BF16", [2], KEPT)
            dst_map[name] = names[s]
        src_map[name] = names[s]
    for side, files, wmap in (("src", src, src_map), ("dst", dst, dst_map)):
        d = os.path.join(out, side)
        os.makedirs(d, exist_ok=True)
        if shards == 1:
            files[0].write(os.path.join(d, "model.safetensors"))
        else:
            for f, n in zip(files, names):
                f.write(os.path.join(d, n))
            write_index(os.path.join(d, "model.safetensors.index.json"), wmap,
                        sum(f.size for f in files))
    write_config(os.path.join(out, "dst", "config.json"), patterns)


def write_header(out, target):
    """A header of `target` bytes (padding included) of zero-length tensors."""
    entry = '"z%d":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}'
    parts, size, i = [], 2, 0
    while True:
        e = entry % i
        if size + len(e) + 1 > target:
            break
        parts.append(e)
        size += len(e) + 1
        i += 1
    header = ("{" + ",".join(parts) + "}").encode()
    header += b" " * (target - len(header))
    for side in ("src", "dst"):
        d = os.path.join(out, side)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "model.safetensors"), "wb") as f:
            f.write(struct.pack("<Q", len(header)))
            f.write(header)
    write_config(os.path.join(out, "dst", "config.json"), ["z*"])


def main(argv):
    if len(argv) != 4 or not argv[3].isdigit() or int(argv[3]) < 1:
        sys.stderr.write(__doc__)
        return 2
    case, out, n = argv[1], argv[2], int(argv[3])
    quant_every = int(os.environ.get("QUANT_EVERY", "8"))
    shards = int(os.environ.get("SHARDS", "8"))
    if case == "tensors":
        write_pair(out, n, quant_every, 1, ["m.*.n"])
    elif case == "findings":
        write_pair(out, n, quant_every, 1, [])
    elif case == "index":
        write_pair(out, n, quant_every, shards, ["m.*.n"])
    elif case == "patterns":
        write_pair(out, 100, quant_every, 1, ["m.%d.n" % j for j in range(n)])
    elif case == "header":
        write_header(out, n)
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
