#!/usr/bin/env bash
# Engine experiments on the GPU machine, in one call: the exactness check (stories260K configs against
# the reference), then the synthetic 7B decode benchmark under several environment variants (A/B in the
# same run, so the ratios are fair), then per-kernel times of eager batch-1 decode steps under ncu
# (clocks and caches left alone). Prebuilt binaries as in run-all.sh's engine mode:
#
#   ABQ_PREBUILT=.device/engine-bin OUT=$OUT bash scripts/gpu/engine-ab.sh [configs] [variant ...]
#
# configs: engine-bench --configs value (default w2a8); each variant is "name:VAR=value,VAR=value"
# (default: a baseline with the decode changes off and the defaults). Results: $OUT/ab-<name>.jsonl and
# .err, $OUT/ncu-<config>.csv.xz (gpu__time_duration per kernel launch, in launch order).
set -uo pipefail
OUT=${OUT:-$PWD/.bench/gpu}
mkdir -p "$OUT"
CONFIGS=${1:-w2a8}
shift || true
VARIANTS=("$@")
[ ${#VARIANTS[@]} -eq 0 ] && VARIANTS=("off:ABQ_PDL=0,ABQ_ENGINE_ATTN_SPLIT=0" "default:")
BIN=$PWD/${ABQ_PREBUILT:-.device/engine-bin}
# The two binaries alone pass the device's 64 MiB carry limit: carry .device/ebz/engine-bin.tar.xz instead
# (tar -cJf .device/ebz/engine-bin.tar.xz -C .device engine-bin) and it is unpacked here.
if [ ! -x "$BIN/abq-engine-bench" ] && [ -f .device/ebz/engine-bin.tar.xz ]; then tar -xJf .device/ebz/engine-bin.tar.xz -C .device; fi
if ! command -v node >/dev/null 2>&1; then
  xz -dc .device/node.xz > /tmp/node && chmod +x /tmp/node && export PATH=/tmp:$PATH
fi
if [ -z "${ABQ_CUBLAS:-}" ]; then
  for d in $(python3 -c "import site; print(' '.join(site.getsitepackages()))" 2>/dev/null); do
    f=$(find "$d/nvidia" -name 'libcublas.so*' 2>/dev/null | grep -v Lt | head -1); [ -n "$f" ] && { export ABQ_CUBLAS=$f; break; }
  done
fi
status=0
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv,noheader

if [ "${ABQ_AB_CHECK:-1}" = 1 ]; then
  echo "== engine check (defaults)"
  ABQ_GPU_ADDON=$BIN/abq_gpu.node timeout 300 node .device/engine-check.mjs .device/engine-expect.json > "$OUT/engine-check.log" 2>&1 || status=1
  grep -E "^(FAIL|engine-check|stress)" "$OUT/engine-check.log" | cut -c1-300 | head -20
fi
if [ "${ABQ_AB_MEMCHECK:-0}" = 1 ]; then
  echo "== compute-sanitizer memcheck (engine-check --quick)"
  ABQ_GPU_ADDON=$BIN/abq_gpu.node timeout 300 compute-sanitizer --tool memcheck --error-exitcode 7 node .device/engine-check.mjs .device/engine-expect.json --quick > "$OUT/engine-memcheck.log" 2>&1 || { echo "memcheck exit $?"; status=1; }
  grep -E "ERROR SUMMARY|^engine-check|^FAIL" "$OUT/engine-memcheck.log" | head -5
fi

for v in "${VARIANTS[@]}"; do
  name=${v%%:*}; vars=${v#*:}
  echo "== variant $name ($vars)"
  ( IFS=','; for kv in $vars; do [ -n "$kv" ] && export "$kv"; done
    timeout 300 "$BIN/abq-engine-bench" --quick --configs "$CONFIGS" ${ABQ_AB_BENCH_ARGS:-} --out "$OUT/ab-$name.jsonl" 2> "$OUT/ab-$name.err" > /dev/null ) || status=1
  grep -E "^\| W|^\| fp|fuse|failed" "$OUT/ab-$name.err" | head -8
done

if [ -n "${ABQ_AB_NCU:-}" ]; then
  for c in ${ABQ_AB_NCU//,/ }; do
    echo "== ncu per-kernel times, eager b1 decode, $c"
    timeout 400 ncu --profile-from-start off --clock-control none --cache-control none --metrics gpu__time_duration.sum --csv \
      "$BIN/abq-engine-bench" --ncu --kv-blocks 64 --configs "$c" > /tmp/ncu-$c.csv 2> /tmp/ncu-$c.err || { echo "ncu exit $?"; tail -5 /tmp/ncu-$c.err; status=1; }
    echo "kernel launches profiled: $(grep -c gpu__time_duration /tmp/ncu-$c.csv)"
    xz -c /tmp/ncu-$c.csv > "$OUT/ncu-$c.csv.xz"  # the device returns few files: one compressed CSV per config
  done
fi
exit $status
