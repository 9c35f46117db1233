#!/usr/bin/env bash
# The one GPU-side script: build (if needed), check every kernel against the TypeScript reference on
# fresh random inputs, run compute-sanitizer (memcheck, racecheck) on a representative set, benchmark
# against cuBLAS, and print the target summary last. Full logs go to $OUT (default .bench/gpu).
#
#   bash scripts/gpu/run-all.sh [all|check|bench|quick-bench|engine|engine-quick]
#
# engine: the inference engine's checks against .device/engine-expect.json (engine-expect.ts, run on
# the CPU beforehand) and its synthetic LLaMA-2-7B benchmark (abq-engine-bench); ABQ_PREBUILT=dir
# takes abq_gpu.node and abq-engine-bench from dir instead of building.
#
# On the GPU machine (no Node, no registry): carry .device/node.xz (DEVICE.md), the bundles that
# `npm run gpu:bundle` writes to .device/, and gpu-node/build/{abq_gpu.node,abq-gpu-bench} built here.
set -uo pipefail
MODE=${1:-all}
OUT=${OUT:-$PWD/.bench/gpu}
mkdir -p "$OUT"
# Large-M kernel choice (btc-gemm.cu tiledMode): the full check and the sanitizers force the tiled kernel for
# every (p, q) (ABQ_BTC_TILED=1) so all its widths are verified; the repeat and the benchmark use the default
# table (what users get). Set ABQ_BTC_TILED yourself to override both.
TILED_CHECK=${ABQ_BTC_TILED:-1}
export ABQ_GPU_ADDON=${ABQ_GPU_ADDON:-$PWD/gpu-node/build/abq_gpu.node}
BENCH_BIN=$PWD/gpu-node/build/abq-gpu-bench
status=0

if ! command -v node >/dev/null 2>&1; then
  xz -dc .device/node.xz > /tmp/node && chmod +x /tmp/node && export PATH=/tmp:$PATH
fi
if [ -x node_modules/.bin/esbuild ]; then npm run -s gpu:bundle || exit 1; npm run -s gpu:engine-bundle || exit 1; fi
if [ -n "${ABQ_PREBUILT:-}" ]; then
  export ABQ_GPU_ADDON=$PWD/$ABQ_PREBUILT/abq_gpu.node
  ENGINE_BENCH=$PWD/$ABQ_PREBUILT/abq-engine-bench
else
  # Always (incremental): a warm GPU machine keeps gpu-node/build between calls, which may be stale.
  node gpu-node/scripts/build.mjs --require > "$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; exit 1; }
  ENGINE_BENCH=$PWD/gpu-node/build/abq-engine-bench
fi
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu,power.draw --format=csv > "$OUT/device.txt" 2>&1
cat "$OUT/device.txt"

if [ "$MODE" = engine ] || [ "$MODE" = engine-quick ]; then
  echo "== engine checks (stories260K configs vs reference / WASM tokens and perplexity)"
  timeout "${ABQ_ENGINE_CHECK_S:-300}" node .device/engine-check.mjs .device/engine-expect.json > "$OUT/engine-check.log" 2>&1 || status=1
  grep -E "^(FAIL|engine-check|stress|stories|createCuda)" "$OUT/engine-check.log" | cut -c1-400 | head -40
  if [ "${ABQ_ENGINE_SANITIZE:-0}" = 1 ]; then
    echo "== compute-sanitizer memcheck (engine-check --quick)"
    timeout 300 compute-sanitizer --tool memcheck --error-exitcode 7 node .device/engine-check.mjs .device/engine-expect.json --quick > "$OUT/engine-memcheck.log" 2>&1 || { echo "memcheck exit code $?"; status=1; }
    grep -E "ERROR SUMMARY|^engine-check|^FAIL" "$OUT/engine-memcheck.log" | head -5
  fi
  echo "== engine benchmark (synthetic LLaMA-2-7B shape)"
  if [ -z "${ABQ_CUBLAS:-}" ]; then
    for d in $(python3 -c "import site; print(' '.join(site.getsitepackages()))" 2>/dev/null); do
      f=$(find "$d/nvidia" -name 'libcublas.so*' 2>/dev/null | grep -v Lt | head -1); [ -n "$f" ] && { export ABQ_CUBLAS=$f; break; }
    done
  fi
  q=""; [ "$MODE" = engine-quick ] && q="--quick"
  timeout "${ABQ_ENGINE_BENCH_S:-400}" "$ENGINE_BENCH" $q ${ABQ_ENGINE_BENCH_ARGS:-} --out "$OUT/engine-bench.jsonl" 2> "$OUT/engine-bench.err" > /dev/null || status=1
  cat "$OUT/engine-bench.err"
  exit $status
fi

if [ "$MODE" = all ] || [ "$MODE" = check ]; then
  echo "== correctness (TypeScript reference, fresh random inputs)"
  ABQ_BTC_TILED=$TILED_CHECK node .device/gpu-check.mjs 2>&1 | tee "$OUT/check.log" | grep -E "^(device|FAIL|check)" | head -40
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
  echo "== repeat with a new seed (default kernel table)"
  node .device/gpu-check.mjs --quick 2>&1 | tee -a "$OUT/check.log" | grep -E "^(device|FAIL|check)" | head -20
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
  echo "== repeat with the 128x256 tiled CTA (ABQ_BTC_TILED_CTA, kept for benchmark comparisons)"
  ABQ_BTC_TILED=$TILED_CHECK ABQ_BTC_TILED_CTA=128x256 node .device/gpu-check.mjs --quick 2>&1 | tee -a "$OUT/check.log" | grep -E "^(FAIL|check)" | head -20
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
  for tool in memcheck racecheck; do
    echo "== compute-sanitizer $tool (quick set)"
    ABQ_BTC_TILED=$TILED_CHECK compute-sanitizer --tool "$tool" --error-exitcode 7 node .device/gpu-check.mjs --quick > "$OUT/$tool.log" 2>&1
    rc=$?
    grep -E "ERROR SUMMARY|RACECHECK SUMMARY|^check:|FAIL" "$OUT/$tool.log" | head -5
    [ "$rc" = 0 ] || { echo "$tool exit code $rc"; status=1; }
  done
fi

if [ "$MODE" = all ] || [ "$MODE" = bench ] || [ "$MODE" = quick-bench ]; then
  q=""; [ "$MODE" = quick-bench ] && q="--quick"
  echo "== benchmark"
  "$BENCH_BIN" $q --out "$OUT/bench.jsonl" 2> "$OUT/bench.err" || { cat "$OUT/bench.err"; status=1; }
  PYTHONUNBUFFERED=1 python3 scripts/gpu/baselines.py $q --out "$OUT/baselines.jsonl" 2>> "$OUT/bench.err" || { tail -5 "$OUT/bench.err"; status=1; }
  logs=""; for f in check memcheck racecheck; do [ -f "$OUT/$f.log" ] && logs="$logs${logs:+,}$OUT/$f.log"; done
  node .device/gpu-bench-table.mjs "$OUT/bench.jsonl" "$OUT/baselines.jsonl" --md "$OUT/table.md" ${logs:+--logs "$logs"} \
    --command "bash scripts/gpu/run-all.sh $MODE" || status=1
fi
exit $status
