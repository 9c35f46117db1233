/**
 * The wire protocol between the edge and a GPU node (gpu-node/server implements the node side).
 * Every request carries the `x-abq-signature` header (shared/auth); nodes answer 401 without it.
 *
 * POST /v1/generate   body: NodeGenerateBody (JSON)
 *   200 text/event-stream:
 *     data: {"token":318,"logprob":-0.41}          one event per generated token
 *     event: done / data: {"finish_reason":"stop","completion_tokens":12}
 *     event: error / data: {"message":"...","code":"..."}   (the node failed mid-stream)
 *   with "stream": false instead: 200 application/json NodeWholeAnswer, one piece (the edge asks for
 *   this for short non-streamed requests: one write instead of an SSE stream; a backend failure is
 *   then a 500 like any error before the first token)
 *   4xx/5xx JSON {"error":{"message","code"}} before any token (400 bad input, 401 bad signature,
 *   404 unknown model, 503 draining or queue full): the edge may retry elsewhere.
 * GET /health          -> NodeHealth (JSON)
 * POST <edge>/internal/nodes/heartbeat  body: NodeHeartbeat (signed by the node, same secret)
 */

export const NODE_GENERATE_PATH = '/v1/generate';
export const NODE_HEALTH_PATH = '/health';
export const EDGE_HEARTBEAT_PATH = '/internal/nodes/heartbeat';

export interface NodeGenerateBody {
  model: string;
  tokens: number[];
  max_tokens: number;
  temperature: number;
  top_p: number;
  top_k: number;
  seed?: number;
  stop?: number[][];
  logprobs?: boolean;
  /** false: answer with one NodeWholeAnswer instead of SSE (default true). */
  stream?: boolean;
}

export interface NodeTokenEvent {
  token: number;
  logprob?: number;
}

export interface NodeDoneEvent {
  finish_reason: 'stop' | 'length';
  completion_tokens: number;
}

export interface NodeWholeAnswer {
  tokens: NodeTokenEvent[];
  finish_reason: 'stop' | 'length';
  completion_tokens: number;
}

export interface NodeHealth {
  status: 'ok' | 'draining';
  backend: string;
  models: string[];
  queue_depth: number;
  /** Sequences generating now. */
  active: number;
  /** Sequences the node can still run at once (max_slots - active; KV blocks permitting). */
  free_kv_slots: number;
  /** Most sequences the node runs at once. */
  max_slots: number;
  /** From here on: nodes with the paged-KV scheduler (gpu-node/engine) report these too. */
  kv_blocks_free?: number;
  kv_blocks_total?: number;
  /** Token positions per KV block. */
  kv_block_size?: number;
  /** Sequences preempted (and recomputed later) for lack of KV blocks since start. */
  preemptions?: number;
  max_batch_tokens?: number;
  context_length?: number;
  /** Memory planned by the engine at load (device memory on a GPU node). */
  memory?: NodeMemory;
  /** The engine's own description (kernel plan, quantization). */
  engine?: string;
}

export interface NodeMemory {
  total_bytes: number;
  weight_bytes: number;
  kv_bytes: number;
  workspace_bytes: number;
  /** Driver-reported free and total device memory after planning (CUDA only). */
  device_free_bytes?: number;
  device_total_bytes?: number;
}

export interface NodeHeartbeat {
  id: string;
  url: string;
  models: string[];
  status: 'ok' | 'draining';
  queue_depth: number;
  free_kv_slots: number;
}
