#!/usr/bin/env python3
"""gen-corpus.py OUTDIR - writes the reference-corpus vectors.

Each vector is a whole .safetensors file (8-byte little-endian header length,
header bytes, data buffer) written to OUTDIR/NAME.safetensors; stdout gets one
manifest line per vector, "NAME<TAB>WHAT", in a fixed order. Nothing here is
random: the same script always writes the same bytes. The headers are spelled
by hand (not json.dumps) because the point is the exact spelling: every mutant
is a valid header with one thing changed. Data buffers are a few bytes.

Used by make-corpus.sh, which adds the reference parser's verdicts. Not a
dependency of the tool or of its tests: they read the files it wrote.
"""
import os
import re
import struct
import sys

VECTORS = []  # (name, what, bytes)
NAMES = set()

# dtype -> bits per element, as the reference's Dtype::bitsize
DTYPES = [
    ("BOOL", 8), ("F4", 4), ("F6_E2M3", 6), ("F6_E3M2", 6), ("U8", 8), ("I8", 8),
    ("F8_E5M2", 8), ("F8_E4M3", 8), ("F8_E8M0", 8), ("F8_E4M3FNUZ", 8), ("F8_E5M2FNUZ", 8),
    ("I16", 16), ("U16", 16), ("F16", 16), ("BF16", 16), ("I32", 32), ("U32", 32),
    ("F32", 32), ("C64", 64), ("F64", 64), ("I64", 64), ("U64", 64),
]
TWO53 = 2 ** 53
U64_MAX = 2 ** 64 - 1


def data(n):
    return bytes((i * 37 + 11) % 256 for i in range(n))


def raw(name, what, blob):
    assert name not in NAMES, name
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name), name
    NAMES.add(name)
    VECTORS.append((name, what, blob))


def st(name, what, header, data_len=0, declared=None, data_bytes=None):
    """A file whose header is `header` (str: UTF-8 encoded; bytes: as is)."""
    h = header.encode("utf-8") if isinstance(header, str) else header
    n = len(h) if declared is None else declared
    body = data(data_len) if data_bytes is None else data_bytes
    raw(name, what, struct.pack("<Q", n) + h + body)


def entry(name='"t"', dtype='"U8"', shape="[1]", offsets="[0,1]", extra="", order=None):
    """One tensor entry, spelled exactly: `name` and the values are JSON text."""
    fields = {"dtype": '"dtype":' + dtype, "shape": '"shape":' + shape,
              "data_offsets": '"data_offsets":' + offsets}
    parts = [fields[k] for k in (order or ["dtype", "shape", "data_offsets"]) if k in fields]
    if extra:
        parts.append(extra)
    return name + ":{" + ",".join(parts) + "}"


def one(extra="", **kw):
    """The base header: one U8 tensor "t" of shape [1] at [0,1]."""
    return "{" + entry(extra=extra, **kw) + "}"


# ---- valid headers ---------------------------------------------------------

def valid():
    st("valid-empty", "empty header {} and no data", "{}")
    st("valid-one-u8", "one U8 tensor [1] at [0,1]", one(), 1)
    st("valid-two-tensors", "F32 [2] and U8 [3], name order differs from offset order",
       '{"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
       '"a":{"dtype":"U8","shape":[3],"data_offsets":[8,11]}}', 11)
    st("valid-three-tensors-any-order", "three tensors listed in reverse offset order",
       '{"z":{"dtype":"U8","shape":[1],"data_offsets":[3,4]},'
       '"y":{"dtype":"U16","shape":[1],"data_offsets":[1,3]},'
       '"x":{"dtype":"BOOL","shape":[1],"data_offsets":[0,1]}}', 4)
    st("valid-keys-reordered", "data_offsets, shape, dtype in that order",
       one(order=["data_offsets", "shape", "dtype"]), 1)
    st("valid-rank0-scalar", "shape [] is one element", one(shape="[]"), 1)
    st("valid-rank2", "U8 [2,3]", one(shape="[2,3]", offsets="[0,6]"), 6)
    st("valid-zero-size", "shape [0] at [0,0], no data", one(shape="[0]", offsets="[0,0]"))
    st("valid-zero-size-2d", "shape [4,0] at [0,0]", one(shape="[4,0]", offsets="[0,0]"))
    st("valid-zero-size-between", "an empty tensor between two others",
       '{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
       '"b":{"dtype":"U8","shape":[0],"data_offsets":[1,1]},'
       '"c":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', 2)
    st("valid-zero-size-twice-same-offset", "two empty tensors both at [0,0] before a third",
       '{"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},'
       '"b":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},'
       '"c":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 1)
    st("valid-zero-size-at-end", "an empty tensor at the end of the buffer",
       '{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
       '"b":{"dtype":"U8","shape":[0],"data_offsets":[1,1]}}', 1)
    st("valid-gpt-oss-layout", "MXFP4 blocks, scales and a BF16 bias as GPT-OSS stores them",
       '{"__metadata__":{"format":"pt"},'
       '"model.layers.0.mlp.experts.down_proj_blocks":{"dtype":"U8","shape":[2,2,1,16],"data_offsets":[0,64]},'
       '"model.layers.0.mlp.experts.down_proj_scales":{"dtype":"U8","shape":[2,2,1],"data_offsets":[64,68]},'
       '"model.layers.0.mlp.experts.down_proj_bias":{"dtype":"BF16","shape":[2,2],"data_offsets":[68,76]}}', 76)
    st("valid-rank16", "rank 16 (ones), our ST_MAX_RANK", one(shape="[" + ",".join(["1"] * 16) + "]"), 1)
    st("valid-shape-2p53-times-zero", "shape [2^53, 0]: our largest accepted integer",
       one(shape="[%d,0]" % TWO53, offsets="[0,0]"))
    st("valid-empty-name", 'tensor named ""', one(name='""'), 1)
    st("valid-long-name", "tensor name of 4096 bytes", one(name='"' + "n" * 4096 + '"'), 1)
    st("valid-name-metadata-lookalike", 'tensor named "__metadata_" (not the metadata key)',
       one(name='"__metadata_"'), 1)
    st("valid-name-metadata-uppercase", 'tensor named "__METADATA__" (keys are case-sensitive)',
       one(name='"__METADATA__"'), 1)
    st("valid-utf8-name", "tensor name with raw UTF-8 (e-acute, CJK, emoji)",
       one(name='"caf\u00e9.\u4e2d.\U0001F600"'), 1)
    st("valid-bom-inside-name", "U+FEFF as a raw character inside a name", one(name='"a\ufeffb"'), 1)
    st("valid-del-in-name", "raw DEL (0x7F) inside a name: JSON allows it", one(name='"a\x7fb"'), 1)
    st("valid-u2028-in-name", "raw U+2028 inside a name", one(name='"a\u2028b"'), 1)
    st("valid-unknown-field", "an extra field the reference ignores", one(extra='"x":"y"'), 1)
    st("valid-unknown-fields-many", "several extra fields of each JSON type",
       one(extra='"s":"str","i":7,"f":2.5,"b":true,"n":null,"a":[1,"x"],"o":{"k":"v"}'), 1)
    for n in ("format", "total_size"):
        st("valid-metadata-" + n.replace("_", "-"), "__metadata__ with a %s string" % n,
           '{"__metadata__":{"%s":"pt"},' % n + entry() + "}", 1)
    st("valid-metadata-empty", "__metadata__ {}", '{"__metadata__":{},' + entry() + "}", 1)
    st("valid-metadata-null", "__metadata__ null (read as absent)", '{"__metadata__":null,' + entry() + "}", 1)
    st("valid-metadata-only", "__metadata__ and no tensors", '{"__metadata__":{"a":"b"}}')
    st("valid-metadata-last", "__metadata__ after the tensors", "{" + entry() + ',"__metadata__":{"a":"b"}}', 1)
    st("valid-metadata-many", "__metadata__ with 20 keys",
       '{"__metadata__":{' + ",".join('"k%d":"v%d"' % (i, i) for i in range(20)) + "}," + entry() + "}", 1)
    st("valid-metadata-empty-key-value", '__metadata__ {"":""}', '{"__metadata__":{"":""},' + entry() + "}", 1)
    st("valid-metadata-json-in-string", "__metadata__ value holding JSON text",
       '{"__metadata__":{"cfg":"{\\"a\\":[1,2]}"},' + entry() + "}", 1)
    st("valid-metadata-nested-key-name", '__metadata__ key named "__metadata__"',
       '{"__metadata__":{"__metadata__":"x"},' + entry() + "}", 1)


# ---- whitespace, padding, control bytes ------------------------------------

def whitespace():
    body = one()
    st("ws-trailing-spaces", "header padded with 7 spaces (the reference pads to 8)", body + " " * 7, 1)
    st("ws-trailing-tab-lf-cr", "trailing tab, LF and CR", body + "\t\n\r", 1)
    st("ws-leading-space", "leading space", " " + body, 1)
    st("ws-leading-all", "leading tab, LF, CR and space", "\t\n\r " + body, 1)
    st("ws-reference-padded-test", "the reference's own test: \\t\\n{}\\r space",
       b"\x09\x0a{}\x0d\x20")
    st("ws-between-tokens", "whitespace between every token",
       ' { "t" : { "dtype" : "U8" , "shape" : [ 1 ] , "data_offsets" : [ 0 , 1 ] } } ', 1)
    st("ws-newlines-pretty", "pretty-printed header",
       '{\n  "t": {\n    "dtype": "U8",\n    "shape": [\n      1\n    ],\n    "data_offsets": [\n      0,\n      1\n    ]\n  }\n}\n', 1)
    for b, label in ((0x0C, "form-feed"), (0x0B, "vertical-tab"), (0x00, "nul"), (0x01, "soh"),
                     (0x1F, "unit-separator"), (0x7F, "del")):
        st("ws-trailing-" + label, "trailing 0x%02X after the object" % b, body.encode() + bytes([b]), 1)
    st("ws-leading-form-feed", "leading form feed", b"\x0c" + body.encode(), 1)
    st("ws-nbsp-trailing", "trailing U+00A0 (not JSON white space)", body + "\u00a0", 1)
    st("ws-ideographic-space-leading", "leading U+3000", "\u3000" + body, 1)
    st("ws-nul-padding", "header padded with NUL bytes instead of spaces", body.encode() + b"\0" * 3, 1)
    st("ws-bom-leading", "UTF-8 byte order mark before the object", b"\xef\xbb\xbf" + body.encode(), 1)
    st("ws-bom-after-space", "space then a byte order mark", b" \xef\xbb\xbf" + body.encode(), 1)
    st("ws-bom-trailing", "byte order mark after the object", body.encode() + b"\xef\xbb\xbf", 1)
    st("ws-only-spaces", "header of spaces only", "    ")
    st("ws-header-empty", "header length 0", "")
    for c, label in ((0x09, "tab"), (0x0A, "lf"), (0x0D, "cr"), (0x00, "nul"), (0x01, "soh"),
                     (0x1F, "unit-separator")):
        st("ctl-raw-%s-in-name" % label, "raw 0x%02X inside a tensor name" % c,
           b'{"a' + bytes([c]) + b'b":' + entry(name="").encode()[1:] + b"}", 1)
    st("ctl-raw-tab-in-ignored-string", "raw tab inside an ignored string value", one(extra='"x":"a\tb"'), 1)
    st("ctl-raw-lf-in-metadata-value", "raw LF inside a metadata value",
       '{"__metadata__":{"a":"x\ny"},' + entry() + "}", 1)


# ---- string escapes --------------------------------------------------------

LEGAL_ESCAPES = [
    ("quote", r"\""), ("backslash", r"\\"), ("slash", r"\/"), ("b", r"\b"), ("f", r"\f"),
    ("n", r"\n"), ("r", r"\r"), ("t", r"\t"), ("u-lower-hex", r"\u00e9"), ("u-upper-hex", r"\u00E9"),
    ("u-mixed-hex", r"\uaBcD"), ("u-ascii", r"\u0041"), ("u-control", r"\u001f"), ("u-del", r"\u007f"),
    ("u-bom", r"\ufeff"), ("u-ffff", r"\uffff"), ("surrogate-pair", r"\ud83d\ude00"),
    ("surrogate-pair-max", r"\udbff\udfff"), ("surrogate-pair-upper", r"\uD83D\uDE00"),
]

BAD_ESCAPES = [
    ("u-zzzz", r"\uzzzz"), ("u-004z", r"\u004z"), ("u-space-123", r"\u 123"), ("u-three-digits", r"\u123"),
    ("u-plus", r"\u+123"), ("u-minus", r"\u-123"), ("u-x", r"\ux123"), ("capital-u", r"\U0041"),
    ("x41", r"\x41"), ("a", r"\a"), ("single-quote", r"\'"), ("zero", r"\0"), ("v", r"\v"),
    ("space", "\\ "), ("e", r"\e"),
    ("lone-high-surrogate", r"\ud800"), ("lone-low-surrogate", r"\udc00"),
    ("high-then-char", r"\ud800x"), ("high-then-ascii-escape", r"\ud800\u0041"),
    ("high-then-high", r"\ud800\ud800"), ("high-then-n", r"\ud800\n"), ("low-then-high", r"\udc00\ud800"),
    ("high-then-bad-hex", r"\ud800\uzzzz"),
]

# where in a header a string can sit; each builds a header around the string (the text between the quotes), with its data length
# body s (the text between the quotes), with its data length. The escape is
# followed by "z", not a hex digit, so "\\u123" stays three digits long.
POSITIONS = {
    "name": lambda s: (one(name='"a%sz"' % s), 1),
    "key": lambda s: (one(extra='"x%sz":1' % s), 1),
    "ignored-value": lambda s: (one(extra='"x":"a%sz"' % s), 1),
    "metadata-key": lambda s: ('{"__metadata__":{"a%sz":"v"},' % s + entry() + "}", 1),
    "metadata-value": lambda s: ('{"__metadata__":{"k":"a%sz"},' % s + entry() + "}", 1),
}


def escapes():
    for label, esc in LEGAL_ESCAPES:
        for pos in ("name", "ignored-value", "metadata-value"):
            h, n = POSITIONS[pos](esc)
            st("esc-legal-%s-in-%s" % (label, pos), "legal escape %s in a %s" % (esc, pos), h, n)
    for label, esc in BAD_ESCAPES:
        for pos in POSITIONS:
            h, n = POSITIONS[pos](esc)
            st("esc-bad-%s-in-%s" % (label, pos), "invalid escape %s in a %s" % (esc, pos), h, n)
        st("esc-bad-%s-in-dtype" % label, "invalid escape %s after the dtype" % esc,
           one(dtype='"U8%s"' % esc), 1)
    for pos in POSITIONS:
        h, n = POSITIONS[pos](r"\u0000")
        st("esc-nul-in-%s" % pos, "escaped NUL \\u0000 in a %s" % pos, h, n)
    st("esc-nul-in-dtype", "escaped NUL after the dtype (U8\\u0000)", one(dtype=r'"U8\u0000"'), 1)
    st("esc-nul-then-key-suffix", 'key "dtype\\u0000X" next to a real dtype',
       one(extra=r'"dtype\u0000X":"F32"'), 1)
    st("esc-bad-key-dtype-prefix", 'key "dtype\\uzzzzX" standing in for dtype',
       "{" + entry(order=["shape", "data_offsets"], extra=r'"dtype\uzzzzX":"U8"') + "}", 1)
    st("esc-bad-key-shape-prefix", 'key "shape\\u004zX" standing in for shape',
       "{" + entry(order=["dtype", "data_offsets"], extra=r'"shape\u004zX":[1]') + "}", 1)
    st("esc-bad-dtype-value-cut", 'dtype "U8\\uzzzz" (cJSON would read "U8")', one(dtype=r'"U8\uzzzz"'), 1)
    st("esc-bad-name-cut", 'tensor "t\\uzzzzjunk"', one(name=r'"t\uzzzzjunk"'), 1)
    st("esc-escaped-key-dtype", 'key spelled "dty\\u0070e"', '{"t":{"dty\\u0070e":"U8","shape":[1],"data_offsets":[0,1]}}', 1)
    st("esc-escaped-all-keys", "every key and the dtype spelled with \\u escapes",
       '{"\\u0074":{"\\u0064type":"\\u0055\\u0038","\\u0073hape":[1],"data\\u005foffsets":[0,1]}}', 1)
    st("esc-escaped-metadata-key", '"__meta\\u0064ata__" is the metadata key',
       '{"__meta\\u0064ata__":{"a":"b"},' + entry() + "}", 1)
    st("esc-escaped-metadata-key-bad-value", '"__meta\\u0064ata__" with a non-string value',
       '{"__meta\\u0064ata__":{"a":1},' + entry() + "}", 1)
    st("esc-backslash-at-end", "header ends inside an escape", b'{"t\\', 0)
    st("esc-u-at-end", "header ends inside a \\u escape", b'{"t\\u00', 0)
    st("esc-unterminated-string", "header ends inside a string", b'{"t', 0)
    st("esc-solidus-raw", "raw / inside a name (legal without escape)", one(name='"a/b"'), 1)


# ---- invalid UTF-8 ---------------------------------------------------------

def utf8():
    bad = [
        ("ff", b"\xff"), ("fe", b"\xfe"), ("lone-continuation", b"\x80"), ("truncated-2", b"\xc3"),
        ("truncated-3", b"\xe2\x82"), ("truncated-4", b"\xf0\x9f\x98"), ("overlong-nul", b"\xc0\x80"),
        ("overlong-slash", b"\xc0\xaf"), ("overlong-3", b"\xe0\x80\xaf"), ("overlong-4", b"\xf0\x80\x80\xaf"),
        ("surrogate-d800", b"\xed\xa0\x80"), ("surrogate-dfff", b"\xed\xbf\xbf"),
        ("above-10ffff", b"\xf4\x90\x80\x80"), ("f5", b"\xf5\x80\x80\x80"), ("five-byte", b"\xf8\x88\x80\x80\x80"),
        ("cesu-pair", b"\xed\xa0\xbd\xed\xb8\x80"),
    ]
    for label, seq in bad:
        st("utf8-%s-in-name" % label, "invalid UTF-8 %s in a name" % seq.hex(),
           b'{"a' + seq + b'b":' + entry(name="").encode()[1:] + b"}", 1)
    for label, seq in bad[:6]:
        st("utf8-%s-in-ignored-value" % label, "invalid UTF-8 %s in an ignored value" % seq.hex(),
           one(extra='"x":"@"').encode().replace(b"@", seq), 1)
    st("utf8-ff-outside-string", "byte 0xFF between tokens", b"{\xff" + one().encode()[1:], 1)
    good = [("max-10ffff", "\U0010ffff"), ("three-byte-fffd", "\ufffd"), ("two-byte-80", "\u0080"),
            ("private-use", "\ue000"), ("noncharacter-fffe", "\ufffe")]
    for label, ch in good:
        st("utf8-valid-%s-in-name" % label, "valid UTF-8 U+%04X in a name" % ord(ch), one(name='"a%sb"' % ch), 1)


# ---- numbers ---------------------------------------------------------------

GOOD_NUMBERS = [
    ("zero", "0"), ("minus-zero", "-0"), ("minus-zero-frac", "-0.0"), ("int", "123"), ("neg-int", "-123"),
    ("frac", "1.5"), ("exp-lower", "1e5"), ("exp-upper", "1E5"), ("exp-plus", "1e+5"), ("exp-minus", "1e-5"),
    ("frac-exp", "1.25E-3"), ("zero-exp", "0e5"), ("zero-huge-exp", "0e999"), ("tiny-underflow", "1e-400"),
    ("max-double", "1.7976931348623157e308"), ("u64-max", str(U64_MAX)), ("two-pow-64", str(2 ** 64)),
    ("i64-min", str(-2 ** 63)), ("below-i64-min", str(-2 ** 63 - 1)), ("long-frac", "0." + "1" * 400),
    ("exp-leading-zeros", "1e007"), ("digits-300", "9" * 300), ("neg-exp-zero", "5e-0"),
]

BAD_NUMBERS = [
    ("leading-zero", "01"), ("neg-leading-zero", "-01"), ("double-zero", "00"), ("trailing-dot", "1."),
    ("dot-exp", "1.e5"), ("neg-leading-dot", "-.5"), ("leading-dot", ".5"), ("plus", "+1"),
    ("exp-no-digits", "1e"), ("exp-sign-no-digits", "1e+"), ("minus-alone", "-"), ("double-minus", "--1"),
    ("huge-exp", "1e999"), ("neg-huge-exp", "-1e999"), ("digits-400", "1" + "0" * 399),
    ("neg-digits-400", "-1" + "0" * 399), ("above-max-double", "2e308"), ("hex", "0x10"),
    ("infinity", "Infinity"), ("neg-infinity", "-Infinity"), ("nan", "NaN"), ("underscore", "1_000"),
    ("comma-decimal", "1,5"), ("exp-dot", "1e5.5"), ("leading-zero-frac", "01.5"), ("octal-like", "007"),
    ("minus-space", "- 1"), ("trailing-e-dot", "1.5e"),
]


def numbers():
    for label, num in GOOD_NUMBERS:
        st("num-ok-%s-ignored" % label, "number %s in an ignored field" % num[:40], one(extra='"x":%s' % num), 1)
    for label, num in BAD_NUMBERS:
        st("num-bad-%s-ignored" % label, "number %s in an ignored field" % num[:40], one(extra='"x":%s' % num), 1)
        if "," not in num:  # [0,1,5] would be three good numbers
            st("num-bad-%s-in-array" % label, "number %s inside an ignored array" % num[:40],
               one(extra='"x":[0,%s]' % num), 1)
    for label, num in (("leading-zero", "01"), ("trailing-dot", "1."), ("huge-exp", "1e999"),
                       ("digits-400", "1" + "0" * 399), ("plus", "+1"), ("hex", "0x1")):
        st("num-bad-%s-in-shape" % label, "shape [%s]" % num[:40], one(shape="[%s]" % num), 1)
        st("num-bad-%s-in-offsets" % label, "data_offsets [0,%s]" % num[:40], one(offsets="[0,%s]" % num), 1)
    st("num-bad-leading-zero-in-metadata", "metadata value 01 (a number and malformed)",
       '{"__metadata__":{"a":01},' + entry() + "}", 1)


# ---- shapes ----------------------------------------------------------------

def shapes():
    st("shape-negative", "shape [-1]", one(shape="[-1]"), 1)
    st("shape-negative-zero", "shape [-0]", one(shape="[-0]", offsets="[0,0]"))
    st("shape-float-1-0", "shape [1.0]", one(shape="[1.0]"), 1)
    st("shape-float-1-5", "shape [1.5]", one(shape="[1.5]"), 1)
    st("shape-exp-1e0", "shape [1e0]", one(shape="[1e0]"), 1)
    st("shape-exp-upper-1e0", "shape [1E0]", one(shape="[1E0]"), 1)
    st("shape-exp-10e-1", "shape [10e-1]", one(shape="[10e-1]"), 1)
    st("shape-string", 'shape ["1"]', one(shape='["1"]'), 1)
    st("shape-bool", "shape [true]", one(shape="[true]"), 1)
    st("shape-null-elem", "shape [null]", one(shape="[null]"), 1)
    st("shape-nested", "shape [[1]]", one(shape="[[1]]"), 1)
    st("shape-not-array-int", "shape 1", one(shape="1"), 1)
    st("shape-not-array-string", 'shape "1"', one(shape='"1"'), 1)
    st("shape-null", "shape null", one(shape="null"), 1)
    st("shape-object", 'shape {"0":1}', one(shape='{"0":1}'), 1)
    st("shape-trailing-comma", "shape [1,]", one(shape="[1,]"), 1)
    st("shape-leading-comma", "shape [,1]", one(shape="[,1]"), 1)
    st("shape-missing", "no shape field", "{" + entry(order=["dtype", "data_offsets"]) + "}", 1)
    st("shape-numel-mismatch", "shape [2] but 1 byte", one(shape="[2]"), 1)
    st("shape-numel-mismatch-short", "shape [1] but 2 bytes", one(offsets="[0,2]"), 2)
    st("shape-zero-with-bytes", "shape [0] at [0,1]", one(shape="[0]"), 1)
    st("shape-overflow-u64", "shape [2^32, 2^32] of U8: numel is 2^64", one(shape="[4294967296,4294967296]"), 1)
    st("shape-overflow-bits", "F32 shape [2^62]: numel x 32 bits overflows", one(dtype='"F32"', shape="[%d]" % 2 ** 62), 1)
    st("shape-overflow-bits-zero", "F64 shape [2^61, 0]: numel 0, no overflow",
       one(dtype='"F64"', shape="[%d,0]" % 2 ** 61, offsets="[0,0]"))
    st("shape-zero-first-then-huge", "F64 shape [0, 2^61]", one(dtype='"F64"', shape="[0,%d]" % 2 ** 61, offsets="[0,0]"))
    st("shape-2p53-plus-1-times-zero", "shape [2^53+1, 0]", one(shape="[%d,0]" % (TWO53 + 1), offsets="[0,0]"))
    st("shape-u64-max-times-zero", "shape [2^64-1, 0]", one(shape="[%d,0]" % U64_MAX, offsets="[0,0]"))
    st("shape-2p64-times-zero", "shape [2^64, 0]: not a u64", one(shape="[%d,0]" % 2 ** 64, offsets="[0,0]"))
    st("shape-2p53-plus-1-nonzero", "shape [2^53+1] of U8 with 1 byte", one(shape="[%d]" % (TWO53 + 1)), 1)
    for rank in (17, 32, 64):
        st("shape-rank%d" % rank, "rank %d (ones)" % rank, one(shape="[" + ",".join(["1"] * rank) + "]"), 1)
    st("shape-rank17-zero", "rank 17 with a zero dimension",
       one(shape="[" + ",".join(["1"] * 16 + ["0"]) + "]", offsets="[0,0]"))
    st("shape-rank16-product", "rank 16 of twos: 65536 bytes declared, 1 present",
       one(shape="[" + ",".join(["2"] * 16) + "]"), 1)


# ---- offsets and the data buffer -------------------------------------------

def offsets():
    st("off-hole-at-start", "only tensor at [1,2]", one(offsets="[1,2]"), 2)
    st("off-hole-between", "a at [0,1], b at [2,3]",
       '{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
       '"b":{"dtype":"U8","shape":[1],"data_offsets":[2,3]}}', 3)
    st("off-overlap", "a at [0,2], b at [1,3]",
       '{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},'
       '"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}', 3)
    st("off-same-range", "two tensors at [0,1]",
       '{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
       '"b":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 1)
    st("off-contained", "b inside a",
       '{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},'
       '"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}', 4)
    st("off-end-before-begin", "data_offsets [1,0]", one(offsets="[1,0]"), 1)
    st("off-end-before-begin-second", "a at [0,2], b at [2,1]",
       '{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},'
       '"b":{"dtype":"U8","shape":[0],"data_offsets":[2,1]}}', 2)
    st("off-out-of-range", "[0,2] with 1 byte of data", one(shape="[2]", offsets="[0,2]"), 1)
    st("off-far-out-of-range", "[0,2^40] with 1 byte of data", one(shape="[%d]" % 2 ** 40, offsets="[0,%d]" % 2 ** 40), 1)
    st("off-size-mismatch-f32", "F32 [1] at [0,3]", one(dtype='"F32"', offsets="[0,3]"), 3)
    st("off-three-values", "data_offsets [0,1,2]", one(offsets="[0,1,2]"), 1)
    st("off-one-value", "data_offsets [0]", one(offsets="[0]"), 1)
    st("off-empty", "data_offsets []", one(offsets="[]"), 1)
    st("off-negative", "data_offsets [-1,0]", one(offsets="[-1,0]"), 1)
    st("off-float", "data_offsets [0.0,1.0]", one(offsets="[0.0,1.0]"), 1)
    st("off-exp", "data_offsets [0,1e0]", one(offsets="[0,1e0]"), 1)
    st("off-string", 'data_offsets ["0","1"]', one(offsets='["0","1"]'), 1)
    st("off-object", 'data_offsets {"begin":0,"end":1}', one(offsets='{"begin":0,"end":1}'), 1)
    st("off-null", "data_offsets null", one(offsets="null"), 1)
    st("off-missing", "no data_offsets field", "{" + entry(order=["dtype", "shape"]) + "}", 1)
    st("off-2p64", "data_offsets [0,2^64]", one(offsets="[0,%d]" % 2 ** 64), 1)
    st("off-above-2p53-empty", "empty tensor at [2^53+1, 2^53+1]",
       one(shape="[0]", offsets="[%d,%d]" % (TWO53 + 1, TWO53 + 1)))
    st("off-u64-max-empty", "empty tensor at [2^64-1, 2^64-1]", one(shape="[0]", offsets="[%d,%d]" % (U64_MAX, U64_MAX)))
    st("data-one-byte-extra", "1 byte of data after the last tensor", one(), 2)
    st("data-one-byte-short", "tensor [0,1] but no data", one(), 0)
    st("data-empty-header-with-data", "{} followed by 1 byte", "{}", 1)
    st("data-only-empty-tensors-with-data", "one empty tensor and 1 byte of data",
       one(shape="[0]", offsets="[0,0]"), 1)
    st("data-last-ends-early", "two tensors tiling [0,2] of a 3-byte buffer",
       '{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
       '"b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', 3)


# ---- header length field ---------------------------------------------------

def lengths():
    raw("len-file-empty", "a 0-byte file", b"")
    raw("len-file-7-bytes", "a 7-byte file", b"\x02\0\0\0\0\0\0")
    raw("len-file-8-bytes-zero", "only the length field, N = 0", struct.pack("<Q", 0))
    st("len-n-exceeds-file", "N one byte larger than the rest of the file", "{}", 0, declared=3)
    st("len-n-100mb", "N = 100,000,000 (the limit) in a short file", "{}", 0, declared=100_000_000)
    st("len-n-100mb-plus-1", "N = 100,000,001", "{}", 0, declared=100_000_001)
    st("len-n-2p63", "N = 2^63", "{}", 0, declared=2 ** 63)
    st("len-n-u64-max", "N = 2^64-1", "{}", 0, declared=U64_MAX)
    st("len-n-cuts-header", "N one byte short of the JSON", one(), 1, declared=len(one()) - 1,
       data_bytes=b"}" + data(1))
    st("len-n-eats-data", "N covers the JSON and the data byte", one(), 1, declared=len(one()) + 1)
    st("len-n-eats-space-data", "N covers {} and 2 space bytes that were data", "{}", declared=4,
       data_bytes=b"  ")


# ---- JSON structure ---------------------------------------------------------

def structure():
    for label, text in (("array", "[]"), ("string", '"x"'), ("number", "1"), ("null", "null"),
                        ("true", "true"), ("array-of-object", "[" + one() + "]")):
        st("json-top-%s" % label, "header is %s" % label, text, 1 if "object" in label else 0)
    st("json-two-objects", "{}{}", "{}{}")
    st("json-trailing-garbage", "{} x", "{} x")
    st("json-trailing-comma-object", "trailing comma after the last tensor", one()[:-1] + ",}", 1)
    st("json-trailing-comma-entry", "trailing comma inside an entry", one(extra="")[:-2] + ",}}", 1)
    st("json-missing-colon", 'a missing colon after "t"', one().replace('"t":', '"t"', 1), 1)
    st("json-missing-comma", "a missing comma between fields", one().replace('],"data', ']"data', 1), 1)
    st("json-single-quotes", "single-quoted key", one(extra="'x':1"), 1)
    st("json-unquoted-key", "unquoted key", one(extra="x:1"), 1)
    st("json-comment-block", "a /* */ comment", one(extra='"x":1/* c */'), 1)
    st("json-comment-line", "a // comment", one() + "// c\n", 1)
    st("json-unclosed-object", "the closing brace missing", one()[:-1], 1)
    st("json-unclosed-array", "an unclosed shape array", one(shape="[1"), 1)
    st("json-extra-close", "one closing brace too many", one() + "}", 1)
    for lit in ("True", "tru", "nul", "FALSE", "undefined"):
        st("json-bad-literal-%s" % lit.lower(), "literal %s in an ignored field" % lit, one(extra='"x":%s' % lit), 1)
    for label, text in (("number", "1"), ("string", '"x"'), ("array", "[]"), ("null", "null"), ("true", "true")):
        st("json-entry-%s" % label, "tensor entry is %s" % label, '{"t":%s}' % text)
    st("json-entry-empty-object", "tensor entry {}", '{"t":{}}')
    # serde's derived struct also reads a sequence of the fields in order
    st("json-entry-array-form", 'tensor entry ["U8",[1],[0,1]]', '{"t":["U8",[1],[0,1]]}', 1)
    st("json-entry-array-form-short", 'tensor entry ["U8",[1]]', '{"t":["U8",[1]]}', 1)
    st("json-entry-array-form-long", 'tensor entry ["U8",[1],[0,1],0]', '{"t":["U8",[1],[0,1],0]}', 1)
    st("json-entry-array-form-bad-offsets", 'tensor entry ["U8",[1],[0,2]]', '{"t":["U8",[1],[0,2]]}', 1)
    st("json-dtype-missing", "no dtype field", "{" + entry(order=["shape", "data_offsets"]) + "}", 1)
    st("json-key-case-dtype", '"Dtype" instead of "dtype"', one().replace('"dtype"', '"Dtype"'), 1)
    st("json-key-case-shape", '"SHAPE" instead of "shape"', one().replace('"shape"', '"SHAPE"'), 1)
    st("json-key-data-offsets-dash", '"data-offsets" instead of "data_offsets"',
       one().replace('"data_offsets"', '"data-offsets"'), 1)
    st("json-key-space", '"dtype " (trailing space in the key)', one().replace('"dtype"', '"dtype "'), 1)


# ---- dtypes ----------------------------------------------------------------

def dtypes():
    for name, bits in DTYPES:
        # the smallest shape that fills whole bytes: 2 elements of F4, 4 of F6
        n = {4: 2, 6: 4}.get(bits, 1)
        size = n * bits // 8
        st("dtype-%s" % name.lower().replace("_", "-"), "dtype %s, shape [%d]" % (name, n),
           one(dtype='"%s"' % name, shape="[%d]" % n, offsets="[0,%d]" % size), size)
    st("dtype-all-in-one-file", "one tensor of every dtype in one file",
       "{" + ",".join(entry(name='"t_%s"' % name, dtype='"%s"' % name, shape="[%d]" % {4: 2, 6: 4}.get(bits, 1),
                            offsets="[%d,%d]" % (sum({4: 2, 6: 4}.get(b, 1) * b // 8 for _, b in DTYPES[:i]),
                                                 sum({4: 2, 6: 4}.get(b, 1) * b // 8 for _, b in DTYPES[:i + 1])))
                      for i, (name, bits) in enumerate(DTYPES)) + "}",
       sum({4: 2, 6: 4}.get(b, 1) * b // 8 for _, b in DTYPES))
    st("dtype-f4-odd", "F4 shape [1]: half a byte", one(dtype='"F4"', shape="[1]", offsets="[0,1]"), 1)
    st("dtype-f4-odd-3", "F4 shape [3]", one(dtype='"F4"', shape="[3]", offsets="[0,2]"), 2)
    st("dtype-f4-2x3", "F4 shape [2,3]", one(dtype='"F4"', shape="[2,3]", offsets="[0,3]"), 3)
    st("dtype-f4-zero", "F4 shape [0]", one(dtype='"F4"', shape="[0]", offsets="[0,0]"))
    st("dtype-f4-rank0", "F4 shape []: one 4-bit element", one(dtype='"F4"', shape="[]", offsets="[0,1]"), 1)
    for n in (1, 2, 3):
        st("dtype-f6-e2m3-%d" % n, "F6_E2M3 shape [%d]: %d bits" % (n, 6 * n),
           one(dtype='"F6_E2M3"', shape="[%d]" % n, offsets="[0,%d]" % ((6 * n + 7) // 8)), (6 * n + 7) // 8)
    st("dtype-f6-e3m2-8", "F6_E3M2 shape [8]: 6 bytes", one(dtype='"F6_E3M2"', shape="[8]", offsets="[0,6]"), 6)
    st("dtype-f6-e3m2-2x2", "F6_E3M2 shape [2,2]: 3 bytes", one(dtype='"F6_E3M2"', shape="[2,2]", offsets="[0,3]"), 3)
    st("dtype-f32-wrong-size", "F32 [1] at [0,1]", one(dtype='"F32"'), 1)
    st("dtype-c64-as-two-f32", "C64 [1] is 8 bytes, not 4", one(dtype='"C64"', offsets="[0,4]"), 4)
    for bad in ("u8", "Bf16", "F8", "FP8", "F8_E4M3FN", "F8_E5M2FN", "FP4", "MXFP4", "F6", "Q4_0",
                "F128", "C128", "C32", "U128", "UINT8", "bool", "", " U8", "U8 ", "U 8", "F8_E4M3_FNUZ",
                "F8E4M3", "F8_E8M0FNU", "I4", "U4"):
        slug = bad.strip().lower().replace("_", "-").replace(" ", "-") or "empty"
        if bad != bad.strip():
            slug += "-" + ("leading" if bad.startswith(" ") else "trailing") + "-space"
        st("dtype-unknown-%s" % slug, 'unknown dtype "%s"' % bad, one(dtype='"%s"' % bad), 1)
    st("dtype-number", "dtype 4", one(dtype="4"), 1)
    st("dtype-null", "dtype null", one(dtype="null"), 1)
    st("dtype-array", 'dtype ["U8"]', one(dtype='["U8"]'), 1)
    st("dtype-enum-map-null", 'dtype {"U8":null} (serde\'s map spelling of an enum)', one(dtype='{"U8":null}'), 1)
    st("dtype-enum-map-empty-object", 'dtype {"U8":{}}', one(dtype='{"U8":{}}'), 1)
    st("dtype-enum-map-empty-array", 'dtype {"U8":[]}', one(dtype='{"U8":[]}'), 1)
    st("dtype-enum-map-number", 'dtype {"U8":1}', one(dtype='{"U8":1}'), 1)
    st("dtype-enum-map-two", 'dtype {"U8":null,"I8":null}', one(dtype='{"U8":null,"I8":null}'), 1)
    st("dtype-empty-object", "dtype {}", one(dtype="{}"), 1)


# ---- duplicates ------------------------------------------------------------

def duplicates():
    st("dup-tensor-same", "the same tensor entry twice",
       "{" + entry(name='"a"') + "," + entry(name='"a"') + "}", 1)
    st("dup-tensor-last-wins", "a at [0,4] then a at [0,1]: the last tiles the buffer",
       "{" + entry(name='"a"', shape="[4]", offsets="[0,4]") + "," + entry(name='"a"') + "}", 1)
    st("dup-tensor-first-tiles", "a at [0,1] then a at [0,4]: only the first tiles the buffer",
       "{" + entry(name='"a"') + "," + entry(name='"a"', shape="[4]", offsets="[0,4]") + "}", 1)
    st("dup-tensor-different-dtype", "a as U8 then a as I8",
       "{" + entry(name='"a"') + "," + entry(name='"a"', dtype='"I8"') + "}", 1)
    st("dup-tensor-escaped", 'tensor "a" and "\\u0061"', "{" + entry(name='"a"') + "," + entry(name='"\\u0061"') + "}", 1)
    st("dup-tensor-three", "a, b, a: the second a overwrites the first",
       "{" + entry(name='"a"') + "," + entry(name='"b"', offsets="[1,2]") + "," + entry(name='"a"') + "}", 2)
    st("dup-key-dtype-same", "dtype twice with the same value", one(extra='"dtype":"U8"'), 1)
    st("dup-key-dtype-different", "dtype U8 then F32", one(extra='"dtype":"F32"'), 1)
    st("dup-key-shape", "shape twice", one(extra='"shape":[1]'), 1)
    st("dup-key-offsets", "data_offsets twice", one(extra='"data_offsets":[0,1]'), 1)
    st("dup-key-escaped-dtype", 'dtype and "dty\\u0070e"', one(extra='"dty\\u0070e":"U8"'), 1)
    st("dup-key-ignored", "an ignored key twice", one(extra='"x":1,"x":2'), 1)
    st("dup-key-ignored-in-nested-object", "a duplicate key inside an ignored object", one(extra='"x":{"k":1,"k":2}'), 1)
    st("dup-metadata-key", "a __metadata__ key twice", '{"__metadata__":{"a":"1","a":"2"},' + entry() + "}", 1)
    st("dup-metadata-object", "__metadata__ twice", '{"__metadata__":{"a":"1"},"__metadata__":{"b":"2"},' + entry() + "}", 1)
    st("dup-metadata-null-then-object", "__metadata__ null, then an object",
       '{"__metadata__":null,"__metadata__":{"b":"2"},' + entry() + "}", 1)


# ---- __metadata__ ----------------------------------------------------------

def metadata():
    for label, value in (("number", "1"), ("true", "true"), ("null", "null"), ("array", '["a"]'),
                         ("object", '{"k":"v"}'), ("float", "1.5"), ("empty-array", "[]")):
        st("meta-value-%s" % label, "__metadata__ value %s" % value,
           '{"__metadata__":{"a":%s},' % value + entry() + "}", 1)
    for label, value in (("array", '["a","b"]'), ("string", '"pt"'), ("number", "1"), ("true", "true"),
                         ("empty-array", "[]")):
        st("meta-is-%s" % label, "__metadata__ is %s" % value, '{"__metadata__":%s,' % value + entry() + "}", 1)
    st("meta-tensor-shaped", "__metadata__ holding a tensor entry", '{"__metadata__":' + entry(name="")[1:] + "}", 1)
    st("meta-long-value", "a metadata value of 10000 bytes", '{"__metadata__":{"a":"%s"},' % ("v" * 10000) + entry() + "}", 1)


# ---- nesting ---------------------------------------------------------------

def nesting():
    # depth counted as our parser does: root object 1, tensor entry 2, so an
    # ignored field's value at depth 3 holds d more levels at 3 + d - 1
    for d in (1, 2, 3, 4, 10, 100, 124, 125, 126, 127, 128, 200, 1000):
        st("depth-array-%d" % d, "an ignored value of %d nested arrays" % d, one(extra='"x":' + "[" * d + "]" * d), 1)
    for d in (1, 2, 3, 125, 126, 127):
        st("depth-object-%d" % d, "an ignored value of %d nested objects" % d,
           one(extra='"x":' + '{"k":' * (d - 1) + "{}" + "}" * (d - 1)), 1)
    st("depth-mixed-3", "an ignored value [{\"k\":[]}]", one(extra='"x":[{"k":[]}]'), 1)
    st("depth-in-metadata", "nested arrays as a metadata value", '{"__metadata__":{"a":[[["x"]]]},' + entry() + "}", 1)
    st("depth-in-shape", "shape [[[[1]]]]", one(shape="[[[[1]]]]"), 1)
    st("depth-unclosed-10000", "10000 open brackets in an ignored field", one(extra='"x":' + "[" * 10000), 1)


# ---- the reference's own test vectors ---------------------------------------

def reference_tests():
    """The byte strings of the tests in safetensors/src/tensor.rs, as they are
    there (test_json_attack is rebuilt: it serializes ten tensors at one
    offset)."""
    i32_2x2 = b'{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}'
    z16 = b"\0" * 16
    raw("ref-test-empty-shapes-allowed", "test_empty_shapes_allowed",
        b"8\0\0\0\0\0\0\0" + b'{"test":{"dtype":"I32","shape":[],"data_offsets":[0,4]}}' + b"\0" * 4)
    raw("ref-test-deserialization", "test_deserialization", b"<\0\0\0\0\0\0\0" + i32_2x2 + z16)
    raw("ref-test-metadata-incomplete-buffer-extra", "test_metadata_incomplete_buffer (polyglot tail)",
        b"<\0\0\0\0\0\0\0" + i32_2x2 + z16 + b"extra_bogus_data_for_polyglot_file")
    raw("ref-test-metadata-incomplete-buffer-short", "test_metadata_incomplete_buffer (2 bytes missing)",
        b"<\0\0\0\0\0\0\0" + i32_2x2 + b"\0" * 14)
    raw("ref-test-header-too-large", "test_header_too_large", b"<\0\0\0\0\xff\xff\xff" + i32_2x2 + z16)
    raw("ref-test-header-too-small", "test_header_too_small", b"")
    raw("ref-test-invalid-header-length", "test_invalid_header_length", b"<\0\0\0\0\0\0\0")
    raw("ref-test-invalid-header-non-utf8", "test_invalid_header_non_utf8", b"\x01\0\0\0\0\0\0\0\xff")
    raw("ref-test-invalid-header-not-json", "test_invalid_header_not_json", b"\x01\0\0\0\0\0\0\0{")
    raw("ref-test-whitespace-padded-header", "test_whitespace_padded_header",
        b"\x06\0\0\0\0\0\0\0{}\x0d\x20\x09\x0a")
    raw("ref-test-whitespace-leading-padded-header", "test_whitespace_leading_padded_header",
        b"\x06\0\0\0\0\0\0\0\x09\x0a{}\x0d\x20")
    raw("ref-test-zero-sized-tensor", "test_zero_sized_tensor",
        b"<\0\0\0\0\0\0\0" + b'{"test":{"dtype":"I32","shape":[2,0],"data_offsets":[0, 0]}}')
    raw("ref-test-invalid-info", "test_invalid_info",
        b"<\0\0\0\0\0\0\0" + b'{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0, 4]}}')
    raw("ref-test-validation-overflow-u64", "test_validation_overflow (shape [2, 2^64-2])",
        b"O\0\0\0\0\0\0\0" + b'{"test":{"dtype":"I32","shape":[2,18446744073709551614],"data_offsets":[0,16]}}' + z16)
    raw("ref-test-validation-overflow-i64", "test_validation_overflow (shape [2, 2^63-1])",
        b"N\0\0\0\0\0\0\0" + b'{"test":{"dtype":"I32","shape":[2,9223372036854775807],"data_offsets":[0,16]}}' + z16)
    attack = ",".join('"weight_%d":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}' % i for i in range(10))
    st("ref-test-json-attack", "test_json_attack: ten tensors at [0,16]", "{" + attack + "}", 16)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: gen-corpus.py OUTDIR")
    out = sys.argv[1]
    for section in (valid, whitespace, escapes, utf8, numbers, shapes, offsets, lengths, structure,
                    dtypes, duplicates, metadata, nesting, reference_tests):
        section()
    os.makedirs(out, exist_ok=True)
    lines = []
    for name, what, blob in VECTORS:
        with open(os.path.join(out, name + ".safetensors"), "wb") as f:
            f.write(blob)
        assert "\t" not in what and "\n" not in what
        lines.append("%s.safetensors\t%s\n" % (name, what))
    sys.stdout.write("".join(lines))


if __name__ == "__main__":
    main()
