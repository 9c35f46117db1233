/**
 * Edge configuration from a flat string map: wrangler `[vars]`/secrets on Workers, `process.env` on
 * Node. Parsed once into a typed object; a bad value is an error naming the variable and the fix.
 */

export const DEFAULTS = {
  maxBodyBytes: 256 * 1024,
  maxTokensCap: 2048,
  defaultMaxTokens: 256,
  rateLimitPerMinute: 600,
  rateLimitBurst: 60,
  healthIntervalMs: 2_000,
  healthTimeoutMs: 2_000,
  firstTokenTimeoutMs: 15_000,
  breakerFailures: 3,
  breakerCooldownMs: 5_000,
  heartbeatTtlMs: 10_000,
  maxRetries: 2,
} as const;

export interface StaticNode {
  id: string;
  url: string;
  /** Models the node is expected to serve before its first health check says otherwise. */
  models?: string[];
}

export interface ClientKey {
  name: string;
  key: string;
}

export interface EdgeConfig {
  /** Empty means the API is open (a warning is printed); only sensible on 127.0.0.1. */
  apiKeys: ClientKey[];
  /** Shared secret for edge-to-node signatures and node heartbeats; undefined disables GPU routing. */
  nodeSecret?: string;
  nodes: StaticNode[];
  allowRegistration: boolean;
  maxBodyBytes: number;
  maxTokensCap: number;
  defaultMaxTokens: number;
  rateLimitPerMinute: number;
  rateLimitBurst: number;
  healthIntervalMs: number;
  healthTimeoutMs: number;
  firstTokenTimeoutMs: number;
  breakerFailures: number;
  breakerCooldownMs: number;
  heartbeatTtlMs: number;
  maxRetries: number;
  /** Node only: reach nodes over their link when they offer one (ABQ_NODE_LINK, default true); Workers always use HTTP. */
  nodeLink: boolean;
}

export type EnvRecord = Record<string, unknown>;

function str(env: EnvRecord, name: string): string | undefined {
  const v = env[name];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new Error(`${name} must be a string (got ${typeof v}); set it as a plain text var`);
  return v;
}

function int(env: EnvRecord, name: string, fallback: number, min: number, max: number): number {
  const raw = str(env, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name}=${JSON.stringify(raw)} is not an integer in [${min}, ${max}]`);
  return n;
}

function bool(env: EnvRecord, name: string, fallback: boolean): boolean {
  const raw = str(env, name);
  if (raw === undefined) return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new Error(`${name}=${JSON.stringify(raw)} is not a boolean; use true or false`);
}

/** `ABQ_API_KEYS`: comma-separated `key` or `name:key` entries. */
export function parseApiKeys(raw: string | undefined): ClientKey[] {
  if (!raw) return [];
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry, i) => {
      const at = entry.indexOf(':');
      const name = at > 0 ? entry.slice(0, at) : `key${i}`;
      const key = at > 0 ? entry.slice(at + 1) : entry;
      if (key.length < 8) throw new Error(`ABQ_API_KEYS entry ${JSON.stringify(name)} is shorter than 8 characters; use a long random key`);
      return { name, key };
    });
}

/** `ABQ_NODES`: a JSON array `[{"id","url","models"}]` or a comma list `id=url,id=url`. */
export function parseNodes(raw: string | undefined): StaticNode[] {
  if (!raw) return [];
  let list: unknown;
  if (raw.trim().startsWith('[')) {
    try {
      list = JSON.parse(raw);
    } catch (e) {
      throw new Error(`ABQ_NODES is not valid JSON (${(e as Error).message}); expected [{"id":"a","url":"http://10.0.0.5:8080"}]`);
    }
  } else {
    list = raw.split(',').map((s, i) => {
      const t = s.trim();
      const eq = t.indexOf('=');
      return eq > 0 ? { id: t.slice(0, eq), url: t.slice(eq + 1) } : { id: `node${i}`, url: t };
    });
  }
  if (!Array.isArray(list)) throw new Error('ABQ_NODES must be a JSON array or a comma list of id=url');
  return list.map((n, i) => {
    const o = n as Partial<StaticNode>;
    if (typeof o?.url !== 'string' || !/^https?:\/\//.test(o.url)) throw new Error(`ABQ_NODES[${i}].url ${JSON.stringify(o?.url)} must be an http(s) URL`);
    return { id: typeof o.id === 'string' && o.id ? o.id : `node${i}`, url: o.url.replace(/\/+$/, ''), models: Array.isArray(o.models) ? o.models.map(String) : undefined };
  });
}

export function parseEdgeConfig(env: EnvRecord): EdgeConfig {
  const nodeSecret = str(env, 'ABQ_NODE_SECRET');
  const nodes = parseNodes(str(env, 'ABQ_NODES'));
  const allowRegistration = bool(env, 'ABQ_ALLOW_REGISTRATION', false);
  if ((nodes.length > 0 || allowRegistration) && !nodeSecret) {
    throw new Error('ABQ_NODES or ABQ_ALLOW_REGISTRATION is set but ABQ_NODE_SECRET is not: nodes reject unsigned requests; set the same secret on the edge and every node');
  }
  return {
    apiKeys: parseApiKeys(str(env, 'ABQ_API_KEYS')),
    nodeSecret,
    nodes,
    allowRegistration,
    maxBodyBytes: int(env, 'ABQ_MAX_BODY_BYTES', DEFAULTS.maxBodyBytes, 1024, 64 * 1024 * 1024),
    maxTokensCap: int(env, 'ABQ_MAX_TOKENS_CAP', DEFAULTS.maxTokensCap, 1, 1 << 20),
    defaultMaxTokens: int(env, 'ABQ_DEFAULT_MAX_TOKENS', DEFAULTS.defaultMaxTokens, 1, 1 << 20),
    rateLimitPerMinute: int(env, 'ABQ_RATE_LIMIT_PER_MINUTE', DEFAULTS.rateLimitPerMinute, 0, 1e9),
    rateLimitBurst: int(env, 'ABQ_RATE_LIMIT_BURST', DEFAULTS.rateLimitBurst, 1, 1e9),
    healthIntervalMs: int(env, 'ABQ_HEALTH_INTERVAL_MS', DEFAULTS.healthIntervalMs, 50, 3_600_000),
    healthTimeoutMs: int(env, 'ABQ_HEALTH_TIMEOUT_MS', DEFAULTS.healthTimeoutMs, 10, 60_000),
    firstTokenTimeoutMs: int(env, 'ABQ_FIRST_TOKEN_TIMEOUT_MS', DEFAULTS.firstTokenTimeoutMs, 10, 600_000),
    breakerFailures: int(env, 'ABQ_BREAKER_FAILURES', DEFAULTS.breakerFailures, 1, 1000),
    breakerCooldownMs: int(env, 'ABQ_BREAKER_COOLDOWN_MS', DEFAULTS.breakerCooldownMs, 10, 3_600_000),
    heartbeatTtlMs: int(env, 'ABQ_HEARTBEAT_TTL_MS', DEFAULTS.heartbeatTtlMs, 100, 3_600_000),
    maxRetries: int(env, 'ABQ_MAX_RETRIES', DEFAULTS.maxRetries, 0, 10),
    nodeLink: bool(env, 'ABQ_NODE_LINK', true),
  };
}
