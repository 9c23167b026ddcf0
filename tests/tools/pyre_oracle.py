#!/usr/bin/env python3
"""pyre_oracle.py - python3's `re` verdicts for tests/test_pyre.c.

Prints one line per (mode, pattern, name): MODE TAB PATTERN TAB NAME TAB V,
where MODE is "full" (re.fullmatch, rule selectors) or "prefix" (re.match, the
loader view), and V is 1 (match), 0 (no match) or E (re.error: Python refuses
the pattern). Fields are written with repr()-free escapes: backslash, tab and
newline as \\\\, \\t, \\n. The patterns are the subset src/pyre.h documents, plus
Python spellings PCRE2 reads differently ({,n}, \\Z), generated
deterministically from the pieces below, and the tensor names of a GPT-OSS
checkpoint with variants.
"""
import itertools
import re

NAMES = [
    "lm_head.weight", "model.embed_tokens.weight", "model.norm.weight",
    "model.layers.0.mlp.router.weight", "model.layers.0.mlp.router.bias",
    "model.layers.12.self_attn.q_proj.weight", "model.layers.3.self_attn.sinks",
    "model.layers.35.mlp.experts.down_proj", "model.layers.7.mlp.experts.gate_up_proj",
    "model.layers.7.mlp.experts.gate_up_proj_bias", "model.layers.0.input_layernorm.weight",
    "model.layers.x.mlp", "MODEL.Layers.1.MLP", "a", "", "aaa", "ab", "a.b", "a_b",
    "model.layers.\u0663.mlp", "caf\u00e9.weight", "model.layers.1.mlp.experts.down_proj\n",
]

ATOMS = [
    r"model", r"model\.layers", r"\d+", r"\d", r"\w+", r"\s", r"[0-9]+", r"[^.]+", r"[a-z_]+",
    r"(?:mlp|self_attn)", r"(gate_up|down)_proj", r"(?P<n>\d+)", r".*", r".+?", r"\.", r"experts",
    r"lm_head", r"(?:\.\w+)*", r"[.]", r"a{2}", r"a{1,2}", r"a{,2}", r"a{2,}", r"a*+", r"(?>a+)",
    r"\bmodel\b", r"(?=model)", r"(?!lm)", r"(?<=\.)", r"(?<!x)", r"[\d.]+", r"[]a]", r"[^]a]",
    r"(a)\1", r"(?P<x>a)(?P=x)", r"\Amodel", r"weight$", r"weight\Z", r"x|model", r"(?i)model",
    r"(?i:mlp)", r"(?#note)model", r"caf\u00e9", r"\u0061", r"\x61", r"\t", r"[\w]+",
]

EXTRA = [
    r"model\.layers\.\d+\.mlp\.experts\.(gate_up|down)_proj",
    r"model\.layers\.\d+\.self_attn", r"lm_head", r"model\.layers\.[0-9]+\.mlp\.router",
    r".*experts.*", r"(?:model\.)?layers", r"model\.layers\.(\d+)\.mlp\..*", r"(?i)MODEL.*",
    r"model\.layers\.\d{1,2}\..*", r"model\.layers\.\d{,2}\..*", r"[^.]*\.[^.]*", r"a{,}",
    r"model\.layers\.(?:0|1|2)\..*", r"(model|lm_head)(\..*)?", r"^model.*$", r".*\Z",
]

# outside the subset: Python refuses them, or PCRE2 reads them otherwise
OUTSIDE = [
    r"\h", r"\V", r"\R", r"\X", r"\K", r"\G", r"\z", r"\Qa\E", r"\e", r"\N", r"\p{L}", r"\g1",
    r"[[:digit:]]", r"(?|a|b)", r"(*UTF)a", r"(?R)?", r"(?1)(a)", r"(?<n>a)", r"a(?i)b", r"(?a)a",
    r"\cA", r"\o{141}", r"\v",
]


def field(s):
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def verdict(mode, pattern, name):
    try:
        rx = re.compile(pattern)
    except re.error:
        return "E"
    m = rx.fullmatch(name) if mode == "full" else rx.match(name)
    return "1" if m else "0"


def patterns():
    seen = set()
    for p in ATOMS + EXTRA:
        if p not in seen:
            seen.add(p)
            yield p
    for a, b in itertools.product(ATOMS[:24], repeat=2):
        p = a + b
        if p not in seen:
            seen.add(p)
            yield p


def main():
    for p in patterns():
        for mode in ("full", "prefix"):
            for n in NAMES:
                print("\t".join((mode, field(p), field(n), verdict(mode, p, n))))
    for p in OUTSIDE:
        print("\t".join(("outside", field(p), "", "-")))


if __name__ == "__main__":
    main()
