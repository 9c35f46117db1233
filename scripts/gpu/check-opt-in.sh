#!/usr/bin/env bash
# One device call that checks and measures the opt-in decode kernels (gpu-node/NOTES.md, sessions E5 and E6),
# in the order that matters when device time is short: exactness first (engine against the reference, the
# kernels against the reference), then the engine A/B (batch-1 decode, W2A8 synthetic 7B, with engine-bench's
# bit-for-bit fuse check of the one-token step), then kernel A/B at M = 1 and 16 on the N = 8192 layers, then
# racecheck. Prebuilt binaries as in engine-ab.sh (carry .device/ebz/engine-bin.tar.xz, node.xz, the bundles,
# engine-expect.json and engine-models):
#
#   OUT=$OUT bash scripts/gpu/check-opt-in.sh
#
# Writes at most 6 files to $OUT (the device returns 8): checks.log, engine-ab.txt, kab1.txt, kab16.txt,
# racecheck.log. A variant that is exact, race-free and faster becomes the default in one line:
# decodeCtaByDefault / decodeWideEnabled (btc-gemm.cu), fusedPrepMode (engine-linear.cu).
set -uo pipefail
OUT=${OUT:-$PWD/.bench/gpu}
mkdir -p "$OUT"
W=$(mktemp -d)
if ! command -v node >/dev/null 2>&1; then
  xz -dc .device/node.xz > /tmp/node && chmod +x /tmp/node && export PATH=/tmp:$PATH
fi
[ -x .device/engine-bin/abq-engine-bench ] || tar -xJf .device/ebz/engine-bin.tar.xz -C .device
export ABQ_GPU_ADDON=$PWD/.device/engine-bin/abq_gpu.node
NEW="ABQ_BTC_DECODE_CTA=1 ABQ_BTC_DECODE_WIDE=1 ABQ_ENGINE_FUSED_PREP=1"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv,noheader
t0=$(date +%s)
el() { echo "($(( $(date +%s) - t0 )) s)"; }
status=0

echo "== engine-check with the new kernels"
env $NEW timeout 90 node .device/engine-check.mjs .device/engine-expect.json > "$W/e.log" 2>&1 || status=1
grep -E "^(FAIL|engine-check|stress)" "$W/e.log" | cut -c1-300 | head
echo "== kernel check with the new kernels $(el)"
env $NEW ABQ_BTC_TILED=1 timeout 150 node .device/gpu-check.mjs > "$W/c.log" 2>&1 || status=1
grep -E "^FAIL" "$W/c.log" | head -8; tail -1 "$W/c.log"
cat "$W/c.log" "$W/e.log" > "$OUT/checks.log"

echo "== engine A/B, W2A8 $(el)"
OUT=$W ABQ_AB_CHECK=0 ABQ_PREBUILT=.device/engine-bin timeout 240 bash scripts/gpu/engine-ab.sh w2a8 "old:" \
  "cta:ABQ_BTC_DECODE_CTA=1" "fused:ABQ_BTC_DECODE_CTA=1,ABQ_ENGINE_FUSED_PREP=1" \
  "fused2:ABQ_BTC_DECODE_CTA=1,ABQ_ENGINE_FUSED_PREP=2" > "$W/ab.txt" 2>&1 || status=1
cat "$W/ab.txt"
(cat "$W/ab.txt"; for f in "$W"/ab-*; do echo "## $f"; cat "$f"; done) > "$OUT/engine-ab.txt"

echo "== kernel A/B, M = 1 $(el)"
OUT=$W ABQ_KAB_ARGS="--n 8192" ABQ_PREBUILT=.device/engine-bin timeout 150 bash scripts/gpu/kernel-ab.sh 1 "split:" \
  "cta:ABQ_BTC_DECODE_CTA=1" > "$W/k1.txt" 2>&1 || status=1
cat "$W/k1.txt"; cat "$W/k1.txt" "$W"/kab-split.jsonl "$W"/kab-cta.jsonl > "$OUT/kab1.txt" 2>/dev/null

echo "== racecheck $(el)"
env $NEW timeout 100 compute-sanitizer --tool racecheck --error-exitcode 7 node .device/gpu-check.mjs --quick > "$W/r1.log" 2>&1 || status=1
env $NEW timeout 100 compute-sanitizer --tool racecheck --error-exitcode 7 node .device/engine-check.mjs .device/engine-expect.json --quick > "$W/r2.log" 2>&1 || status=1
grep -hE "RACECHECK SUMMARY|ERROR SUMMARY|^FAIL" "$W/r1.log" "$W/r2.log" | head -6
(tail -c 60000 "$W/r1.log"; tail -c 60000 "$W/r2.log") > "$OUT/racecheck.log"

echo "== kernel A/B, M = 16 $(el)"
OUT=$W ABQ_KAB_ARGS="--n 8192" ABQ_PREBUILT=.device/engine-bin timeout 150 bash scripts/gpu/kernel-ab.sh 16 "tiled:" \
  "wide:ABQ_BTC_DECODE_CTA=1,ABQ_BTC_DECODE_WIDE=1" > "$W/k16.txt" 2>&1 || status=1
cat "$W/k16.txt"; cat "$W/k16.txt" "$W"/kab-tiled.jsonl "$W"/kab-wide.jsonl > "$OUT/kab16.txt" 2>/dev/null
echo "== done $(el), status $status"
exit $status
