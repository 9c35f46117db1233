#!/usr/bin/env bash
# Kernel A/B on the GPU machine, in one call: abq-gpu-bench at one M under several environment variants
# (same run, same card, so the ratios are fair), then a table of gemm microseconds per (shape, config)
# with each variant's time and its ratio to the first variant. Prebuilt binaries as in run-all.sh:
#
#   ABQ_PREBUILT=.device/engine-bin OUT=$OUT bash scripts/gpu/kernel-ab.sh M [variant ...]
#
# Each variant is "name:VAR=value,VAR=value" (an empty list = the defaults). Results: $OUT/kab-<name>.jsonl.
set -uo pipefail
OUT=${OUT:-$PWD/.bench/gpu}
mkdir -p "$OUT"
M=${1:?usage: kernel-ab.sh M [variant ...]}
shift
VARIANTS=("$@")
[ ${#VARIANTS[@]} -eq 0 ] && VARIANTS=("default:")
BIN=$PWD/${ABQ_PREBUILT:-gpu-node/build}
status=0
names=()
for v in "${VARIANTS[@]}"; do
  name=${v%%:*}; vars=${v#*:}
  names+=("$name")
  ( IFS=','; for kv in $vars; do [ -n "$kv" ] && export "$kv"; done
    timeout 400 "$BIN/abq-gpu-bench" --m "$M" ${ABQ_KAB_ARGS:-} --out "$OUT/kab-$name.jsonl" 2> "$OUT/kab-$name.err" ) ||
    { echo "variant $name failed"; tail -3 "$OUT/kab-$name.err"; status=1; }
done
python3 - "$OUT" "${names[@]}" <<'EOF'
import json, sys
out, names = sys.argv[1], sys.argv[2:]
runs = {}
for n in names:
    try:
        rows = [json.loads(l) for l in open(f"{out}/kab-{n}.jsonl") if l.startswith('{"n"')]
    except OSError:
        rows = []
    runs[n] = {(r["n"], r["k"], r["config"]): r for r in rows}
dev = next((json.loads(l) for l in open(f"{out}/kab-{names[0]}.jsonl") if '"device"' in l), {})
bw = dev.get("copyBytesPerSec", 0)
print(f"device {dev.get('device')} copy {bw / 1e12:.2f} TB/s; gemm us (and % copy) per variant, ratio to {names[0]}")
keys = sorted(runs[names[0]].keys(), key=lambda k: (k[0] * k[1], k[2]))
print("shape config | " + " | ".join(names))
for key in keys:
    base = runs[names[0]][key]["gemmUs"]
    cells = []
    for n in names:
        r = runs[n].get(key)
        if not r:
            cells.append("-"); continue
        pct = 100 * r["weightBytes"] / (r["gemmUs"] * 1e-6) / bw if bw else 0
        cells.append(f"{r['gemmUs']:.1f} ({pct:.0f}%) x{r['gemmUs'] / base:.2f} {r['plan']}")
    print(f"{key[0]}x{key[1]} {key[2]} | " + " | ".join(cells))
EOF
exit $status
