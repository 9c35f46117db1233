/**
 * An obviously-correct f64 LLaMA forward for tests: reads the raw HF config JSON and tensors by HF
 * name (so it shares no code with shared/model), recomputes every position from scratch, and spells
 * out RoPE (rotate half), GQA, biases, the llama3/linear frequency scaling and the sliding window.
 */
type Raw = Record<string, any>;

function matvec(w: Float32Array, rows: number, cols: number, x: number[], bias?: Float32Array): number[] {
  const y: number[] = [];
  for (let r = 0; r < rows; r++) {
    let s = bias ? bias[r] : 0;
    for (let c = 0; c < cols; c++) s += w[r * cols + c] * x[c];
    y.push(s);
  }
  return y;
}

function rms(x: number[], w: Float32Array, eps: number): number[] {
  const ms = x.reduce((a, v) => a + v * v, 0) / x.length;
  return x.map((v, i) => (v / Math.sqrt(ms + eps)) * w[i]);
}

export function naiveInvFreq(cfg: Raw, headDim: number): number[] {
  const theta = cfg.rope_theta ?? 10000;
  const inv: number[] = [];
  for (let i = 0; i < headDim / 2; i++) inv.push(Math.pow(theta, -(2 * i) / headDim));
  const sc = cfg.rope_scaling;
  if (!sc) return inv;
  const type = sc.rope_type ?? sc.type;
  if (type === 'linear') return inv.map((f) => f / sc.factor);
  // llama3 (Meta's apply_scaling in llama/model.py, written as a per-frequency case split)
  return inv.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    const lowWavelen = sc.original_max_position_embeddings / sc.low_freq_factor;
    const highWavelen = sc.original_max_position_embeddings / sc.high_freq_factor;
    if (wavelen < highWavelen) return f;
    if (wavelen > lowWavelen) return f / sc.factor;
    const smooth = (sc.original_max_position_embeddings / wavelen - sc.low_freq_factor) / (sc.high_freq_factor - sc.low_freq_factor);
    return (1 - smooth) * (f / sc.factor) + smooth * f;
  });
}

function rope(x: number[], pos: number, inv: number[]): number[] {
  const half = x.length / 2;
  const out = x.slice();
  for (let i = 0; i < half; i++) {
    const c = Math.cos(pos * inv[i]), s = Math.sin(pos * inv[i]);
    out[i] = x[i] * c - x[i + half] * s;
    out[i + half] = x[i + half] * c + x[i] * s;
  }
  return out;
}

/** Logits [position][vocab] for tokens at positions 0..n-1. */
export function naiveLlamaLogits(cfg: Raw, t: Map<string, Float32Array>, tokens: number[]): number[][] {
  const d = cfg.hidden_size, H = cfg.num_attention_heads, KV = cfg.num_key_value_heads ?? H;
  const hd = cfg.head_dim ?? d / H, ff = cfg.intermediate_size, V = cfg.vocab_size, eps = cfg.rms_norm_eps;
  const window = cfg.model_type === 'mistral' && cfg.sliding_window ? cfg.sliding_window : Infinity;
  const inv = naiveInvFreq(cfg, hd);
  const get = (n: string) => t.get(n)!;
  let xs = tokens.map((tok) => Array.from(get('model.embed_tokens.weight').subarray(tok * d, (tok + 1) * d)));
  for (let l = 0; l < cfg.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    const lin = (name: string, rows: number, cols: number, x: number[]) => matvec(get(`${p}.${name}.weight`), rows, cols, x, t.get(`${p}.${name}.bias`));
    const n1 = xs.map((x) => rms(x, get(`${p}.input_layernorm.weight`), eps));
    const qs = n1.map((x, pos) => { const q = lin('self_attn.q_proj', H * hd, d, x); return Array.from({ length: H }, (_, h) => rope(q.slice(h * hd, (h + 1) * hd), pos, inv)); });
    const ks = n1.map((x, pos) => { const k = lin('self_attn.k_proj', KV * hd, d, x); return Array.from({ length: KV }, (_, h) => rope(k.slice(h * hd, (h + 1) * hd), pos, inv)); });
    const vs = n1.map((x) => { const v = lin('self_attn.v_proj', KV * hd, d, x); return Array.from({ length: KV }, (_, h) => v.slice(h * hd, (h + 1) * hd)); });
    xs = xs.map((x, i) => {
      const att: number[] = [];
      for (let h = 0; h < H; h++) {
        const kv = Math.floor(h / (H / KV));
        const js = [...Array(i + 1).keys()].filter((j) => i - j < window);
        const sc = js.map((j) => qs[i][h].reduce((a, q, e) => a + q * ks[j][kv][e], 0) / Math.sqrt(hd));
        const m = Math.max(...sc);
        const ex = sc.map((s) => Math.exp(s - m));
        const z = ex.reduce((a, b) => a + b, 0);
        for (let e = 0; e < hd; e++) att.push(js.reduce((a, j, jj) => a + (ex[jj] / z) * vs[j][kv][e], 0));
      }
      const h1 = lin('self_attn.o_proj', d, H * hd, att).map((v, e) => v + x[e]);
      const n2 = rms(h1, get(`${p}.post_attention_layernorm.weight`), eps);
      const g = lin('mlp.gate_proj', ff, d, n2), u = lin('mlp.up_proj', ff, d, n2);
      const a = g.map((gv, e) => (gv / (1 + Math.exp(-gv))) * u[e]);
      return lin('mlp.down_proj', d, ff, a).map((v, e) => v + h1[e]);
    });
  }
  const head = cfg.tie_word_embeddings ? get('model.embed_tokens.weight') : get('lm_head.weight');
  return xs.map((x) => matvec(head, V, d, rms(x, get('model.norm.weight'), eps)));
}
