#!/usr/bin/env python3
"""slab-diff.py A.json B.json - the largest relative difference between the
statistics of two verify reports, per field, and any difference in findings
or verdicts (for the GPU machine: CUDA sums per slab, so other slab sizes
round differently; the reports must agree to ~1e-12 relative)."""
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
worst = {}
for ta, tb in zip(a["tensors"], b["tensors"]):
    assert ta["name"] == tb["name"] and ta["status"] == tb["status"], (ta["name"], ta["status"], tb["status"])
    for part in ("stats", "requant"):
        for k, va in (ta.get(part) or {}).items():
            vb = (tb.get(part) or {}).get(k)
            if isinstance(va, (int, float)) and isinstance(vb, (int, float)) and va != vb:
                rel = abs(va - vb) / max(abs(va), abs(vb))
                if rel > worst.get(k, (0, ""))[0]:
                    worst[k] = (rel, ta["name"])
            elif va != vb:
                print("differs:", ta["name"], part, k, va, vb)
print("findings equal:", [f["id"] for f in a["findings"]] == [f["id"] for f in b["findings"]])
for k, (rel, name) in sorted(worst.items()):
    print(f"{k:18s} {rel:.3e}  ({name})")
print("max relative difference:", max([r for r, _ in worst.values()] or [0.0]))
