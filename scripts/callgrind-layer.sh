#!/usr/bin/env bash
# Instructions per request of the layer bench's cases, counted by callgrind
# (deterministic, so a busy machine does not move them).
#
#   scripts/callgrind-layer.sh [case ...]       # default: every case
#   FLAGS_CALLGRIND_TOP=1 scripts/callgrind-layer.sh layer/events_filtered
#
# Each case runs twice under `valgrind --tool=callgrind`, with N1 and N2
# requests; (Ir(N2) - Ir(N1)) / (N2 - N1) removes start-up and warm-up.
# With FLAGS_CALLGRIND_TOP=1 the N2 run's profile is kept in
# target/callgrind/ and its top functions (inclusive) are printed.
set -euo pipefail
cd "$(dirname "$0")/.."

N1=${N1:-200}
N2=${N2:-2200}
out=target/callgrind
mkdir -p "$out"

cargo bench -p flags-middleware --bench layer --no-run 2>&1 | tail -1
bin=$(cargo bench -p flags-middleware --bench layer --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "layer" and m.get("executable"):
        print(m["executable"])')

cases=("$@")
if [ ${#cases[@]} -eq 0 ]; then
    mapfile -t cases < <(FLAGS_BENCH_LIST=1 "$bin")
fi

total() { # case n -> instructions
    local file="$out/$(echo "$1" | tr '/' '_').$2.out"
    FLAGS_BENCH_COUNT="$1:$2" valgrind --tool=callgrind --callgrind-out-file="$file" \
        "$bin" >/dev/null 2>&1
    awk '/^summary:/ { print $2 }' "$file"
}

base=""
printf '%-36s %10s %10s\n' case "instr/req" "over bare"
for c in "${cases[@]}"; do
    a=$(total "$c" "$N1")
    b=$(total "$c" "$N2")
    per=$(( (b - a) / (N2 - N1) ))
    [ -z "$base" ] && base=$per
    printf '%-36s %10d %+10d\n' "$c" "$per" $(( per - base ))
    if [ -n "${FLAGS_CALLGRIND_TOP:-}" ]; then
        f="$out/$(echo "$c" | tr '/' '_').$N2.out"
        callgrind_annotate --inclusive=yes "$f" 2>/dev/null | sed -n '1,60p' | cut -c1-200
    fi
done
