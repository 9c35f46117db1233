/**
 * The scheduler's own cost per engine step (TypeScript: planning, block tables, RNG draws, stream
 * hand-off), measured over an engine that does no work, against a bare loop that drives the same
 * engine with the same batches and none of the scheduling. On the GPU a decode step of a 7B model
 * takes milliseconds; this says how much of that the TypeScript side adds.
 *
 *     npm run bench:scheduler            (writes its section of docs/BENCHMARKS.md)
 */
import { createScheduledBackend } from '../scheduler.ts';
import type { BatchEngine, EngineInfo, SeqResult, SeqStep } from '../batch-engine.ts';
import { machineLine, median, replaceBenchSection } from '../../../scripts/lib/bench-doc.ts';

const CONCURRENCY = [1, 8, 32, 64, 256];
const PROMPT_TOKENS = 16;
const GEN_TOKENS = 1024;
const RUNS = 5;
const WARMUP_RUNS = 3;
const VOCAB = 32000;
const BLOCK_SIZE = 16;

/** An engine with the contract's shape and no work: every step answers at once. */
function zeroEngine(maxSeqs: number): BatchEngine {
  const info: EngineInfo = {
    backend: 'cuda', modelId: 'zero', vocabSize: VOCAB, contextLength: 4096, blockSize: BLOCK_SIZE,
    numBlocks: maxSeqs * Math.ceil((PROMPT_TOKENS + GEN_TOKENS) / BLOCK_SIZE) + 8, maxBatchTokens: 8192, maxSeqs,
    memory: { totalBytes: 0, weightBytes: 0, kvBytes: 0, workspaceBytes: 0 },
  };
  return {
    info,
    step: async (batch: SeqStep[]): Promise<SeqResult[]> => {
      const out: SeqResult[] = [];
      for (const s of batch) if (s.sample) out.push({ seqId: s.seqId, token: (s.position + s.seqId) % VOCAB });
      return out;
    },
    release: () => undefined,
    close: async () => undefined,
  };
}

/** Scheduled: `c` streams of GEN_TOKENS through createScheduledBackend. Returns ms per step. */
async function scheduled(c: number): Promise<{ msPerStep: number; tokensPerS: number }> {
  const backend = createScheduledBackend(zeroEngine(c), { id: 'bench', modelIds: ['zero'], maxQueue: c });
  let steps = 0;
  backend.onStep(() => steps++);
  const prompt = Array.from({ length: PROMPT_TOKENS }, (_, i) => i + 1);
  const t0 = performance.now();
  await Promise.all(Array.from({ length: c }, async (_, i) => {
    let n = 0;
    for await (const _t of backend.generate({ model: 'zero', tokens: prompt, maxTokens: GEN_TOKENS, sampling: { temperature: i % 2 ? 0.8 : 0, topK: 0, topP: 1, seed: i } })) n++;
    if (n !== GEN_TOKENS) throw new Error(`stream ${i} got ${n} tokens, expected ${GEN_TOKENS}`);
  }));
  const ms = performance.now() - t0;
  return { msPerStep: ms / steps, tokensPerS: (c * GEN_TOKENS) / (ms / 1000) };
}

/** Bare: the same batches built by hand in one loop (no admission, blocks, RNG or streams). */
async function bare(c: number): Promise<{ msPerStep: number; steps: number }> {
  const engine = zeroEngine(c);
  const table = Int32Array.from({ length: Math.ceil((PROMPT_TOKENS + GEN_TOKENS) / BLOCK_SIZE) }, (_, i) => i);
  const sample = { temperature: 0, topK: 0, topP: 1, uniform: 0, logprob: false };
  const t0 = performance.now();
  let steps = 0;
  for (let pos = PROMPT_TOKENS - 1; pos < PROMPT_TOKENS + GEN_TOKENS - 1; pos++) {
    const first = pos === PROMPT_TOKENS - 1;
    const batch = Array.from({ length: c }, (_, seqId): SeqStep => ({ seqId, tokens: first ? new Int32Array(PROMPT_TOKENS) : Int32Array.of(1), position: first ? 0 : pos, blockTable: table, sample }));
    await engine.step(batch);
    await new Promise((r) => setImmediate(r));
    steps++;
  }
  return { msPerStep: (performance.now() - t0) / steps, steps };
}

async function main(): Promise<void> {
  // Warm-up: let the JIT compile both paths before anything is timed.
  for (let r = 0; r < WARMUP_RUNS; r++) {
    await scheduled(64);
    await bare(64);
  }
  const rows: string[] = [];
  console.log('streams | scheduler ms/step | bare loop ms/step | overhead ms/step | tokens/s through the scheduler');
  for (const c of CONCURRENCY) {
    const s: { msPerStep: number; tokensPerS: number }[] = [];
    const b: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      s.push(await scheduled(c));
      b.push((await bare(c)).msPerStep);
    }
    const sMs = median(s.map((x) => x.msPerStep));
    const bMs = median(b);
    const row = `| ${c} | ${sMs.toFixed(3)} | ${bMs.toFixed(3)} | ${(sMs - bMs).toFixed(3)} | ${Math.round(median(s.map((x) => x.tokensPerS))).toLocaleString('en-US')} |`;
    rows.push(row);
    console.log(row);
  }
  replaceBenchSection('scheduler', `## Node scheduler overhead (TypeScript, no model)

\`npm run bench:scheduler\` (gpu-node/engine/bench/scheduler-overhead.ts) on ${machineLine()}. The scheduler
drives an engine that answers every step at once: ${PROMPT_TOKENS}-token prompts, ${GEN_TOKENS} tokens per stream,
half the streams sampled (temperature 0.8), half greedy; the baseline is a bare loop handing the engine the same
batches with no admission, block tables, RNG or streams, in the same run. Medians of ${RUNS} runs after ${WARMUP_RUNS} warm-up runs. The overhead is
what the TypeScript side adds to each engine step (a GPU decode step of a 7B model takes milliseconds).

| streams | scheduler ms/step | bare loop ms/step | overhead ms/step | tokens/s through the scheduler |
|---|---|---|---|---|
${rows.join('\n')}`);
}

main().catch((e: Error) => {
  console.error(e);
  process.exitCode = 1;
});
