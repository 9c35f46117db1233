/**
 * Failure injection for the test Hub server. A test adds rules; each incoming request takes the first
 * rule that matches its method and path and still has uses left. The server applies it:
 * - `status`: answer with that HTTP status (401, 404, 500, 503, ...) and a Hub-shaped JSON error;
 * - `drop-request`: read `afterBytes` of the request body, then destroy the socket (a connection lost
 *   mid-upload; nothing of that body is stored);
 * - `drop-response`: send the headers and `afterBytes` of the body, then destroy the socket (a connection
 *   lost mid-download);
 * - `corrupt-response`: serve the body with one byte flipped (a bad mirror or proxy).
 */
export type FaultAction =
  | { kind: 'status'; status: number; message?: string; errorCode?: string }
  | { kind: 'drop-request'; afterBytes: number }
  | { kind: 'drop-response'; afterBytes: number }
  | { kind: 'corrupt-response' };

export interface FaultRule {
  /** Matches any method when omitted. */
  method?: string;
  /** Substring of, or pattern for, the request path (with its query string). */
  path: string | RegExp;
  action: FaultAction;
  /** Extra condition on the request, e.g. skip the `Range: bytes=0-0` size probe of a download. */
  match?: (req: { method: string; path: string; headers: Record<string, string | string[] | undefined> }) => boolean;
  /** How many requests it hits before it is spent; Infinity for a permanent fault. Default 1. */
  times?: number;
}

interface LiveRule extends FaultRule {
  hits: number;
}

export class FaultInjector {
  private rules: LiveRule[] = [];

  add(rule: FaultRule): void {
    this.rules.push({ ...rule, hits: 0 });
  }

  clear(): void {
    this.rules = [];
  }

  /** Total hits of all rules so far (to check that a fault really fired). */
  get fired(): number {
    return this.rules.reduce((n, r) => n + r.hits, 0);
  }

  take(method: string, path: string, headers: Record<string, string | string[] | undefined> = {}): FaultAction | undefined {
    for (const rule of this.rules) {
      if (rule.hits >= (rule.times ?? 1)) continue;
      if (rule.method && rule.method.toUpperCase() !== method.toUpperCase()) continue;
      const hit = typeof rule.path === 'string' ? path.includes(rule.path) : rule.path.test(path);
      if (!hit || (rule.match && !rule.match({ method, path, headers }))) continue;
      rule.hits++;
      return rule.action;
    }
    return undefined;
  }
}
