#!/usr/bin/env python3
"""Per-request instructions by function, of one case over another.

    callgrind-diff.py DIR CASE BASE N1 N2 [TOP]

Reads DIR/<case>.<n>.out (as scripts/callgrind-layer.sh leaves them) for
both counts, so start-up cancels out, then prints the functions whose
per-request exclusive cost differs most between CASE and BASE.
"""
import re
import subprocess
import sys
from collections import defaultdict


def exclusive(path):
    out = subprocess.run(
        ["callgrind_annotate", "--auto=no", "--threshold=100", path],
        capture_output=True, text=True, check=True,
    ).stdout
    costs = defaultdict(int)
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+) \([^)]*\)\s+(.*)$", line)
        if not m or "PROGRAM TOTALS" in line:
            continue
        name = m.group(2)
        name = re.sub(r" \[[^\]]*\]$", "", name)
        # "file:function" (with line tables, one entry per file of inlined
        # code): keep the function, so its costs add up.
        name = re.sub(r"^(\?\?\?|[^ :]*\.(rs|S|c|h)):", "", name)
        costs[name] += int(m.group(1).replace(",", ""))
    return costs


def per_request(d, case, n1, n2):
    a = exclusive(f"{d}/{case}.{n1}.out")
    b = exclusive(f"{d}/{case}.{n2}.out")
    return {k: (b.get(k, 0) - a.get(k, 0)) / (n2 - n1) for k in set(a) | set(b)}


def main():
    d, case, base, n1, n2 = sys.argv[1:6]
    top = int(sys.argv[6]) if len(sys.argv) > 6 else 25
    n1, n2 = int(n1), int(n2)
    c = per_request(d, case, n1, n2)
    b = per_request(d, base, n1, n2)
    diff = {k: c.get(k, 0) - b.get(k, 0) for k in set(c) | set(b)}
    total = sum(diff.values())
    print(f"{case} over {base}: {total:+.0f} instructions per request")
    for k, v in sorted(diff.items(), key=lambda kv: -abs(kv[1]))[:top]:
        print(f"  {v:+8.0f}  {k[:150]}")


main()
