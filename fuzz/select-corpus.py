#!/usr/bin/env python3
"""Picks the corpus to keep in the repository from a fuzzing run.

libFuzzer's -merge=1 keeps every input that adds a feature, smallest first,
which is thousands of files after a long run. This reads the merge's control
file and greedily keeps the inputs that cover the most new edges per byte
(plus a per-file cost, so fewer, fuller files win), within a byte budget and
a file cap, always counting the hand-written seeds already in the corpus.

    cargo fuzz run -s none -a T /tmp/merged/T corpus/T /tmp/work/T -- \\
        -merge=1 -use_counters=0 -merge_control_file=/tmp/T.ctl
    ./select-corpus.py /tmp/T.ctl corpus/T 60000 250
"""
import os
import shutil
import sys

FILE_COST = 256  # bytes a file counts for on top of its size


def main(control, corpus, budget, max_files):
    lines = open(control).read().split("\n")
    count = int(lines[0])
    paths = lines[2 : 2 + count]
    edges = {}
    for line in lines[2 + count :]:
        parts = line.split()
        if parts and parts[0] == "COV":
            edges[int(parts[1])] = set(map(int, parts[2:]))
    everything = set().union(*edges.values()) if edges else set()
    size = {i: os.path.getsize(paths[i]) for i in edges}
    covered, used = set(), 0
    seeds = {os.path.realpath(os.path.join(corpus, f)) for f in os.listdir(corpus)}
    for i in list(edges):
        if os.path.realpath(paths[i]) in seeds:
            covered |= edges.pop(i)
            used += size[i]
    chosen = []
    while len(chosen) < max_files:
        best, score = None, 0.0
        for i, e in edges.items():
            new = len(e - covered)
            if new and new / (size[i] + FILE_COST) > score:
                best, score = i, new / (size[i] + FILE_COST)
        if best is None or used + size[best] > budget:
            break
        covered |= edges.pop(best)
        used += size[best]
        chosen.append(best)
    for i in chosen:
        shutil.copy(paths[i], os.path.join(corpus, os.path.basename(paths[i])))
    print(f"kept {len(chosen)} new files; corpus {used} bytes, {len(covered)}/{len(everything)} edges")


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
