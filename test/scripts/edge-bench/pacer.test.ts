/**
 * scripts/edge-bench/pacer.ts: requests start on a fixed schedule across connections (not in
 * per-second bursts), a slot that finds every connection busy waits and reports its wait, and it
 * drives a real autocannon (the private hook it relies on is still there).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pacer, type PacedClient } from '../../../scripts/edge-bench/pacer.ts';
import { runLoad } from '../../../scripts/edge-bench/measure.ts';

afterEach(() => void vi.useRealTimers());

/** A stand-in for autocannon's Client: records when it sends, answers after `serviceMs`. */
function fakeClient(sends: number[], serviceMs: number): PacedClient {
  const client: PacedClient = {
    _doRequest() {
      sends.push(Date.now());
      setTimeout(() => client._doRequest(), serviceMs); // the response: autocannon calls _doRequest again
    },
  };
  return client;
}

describe('Pacer', () => {
  it('sends one request per interval, spread over the connections', () => {
    vi.useFakeTimers({ now: 0 });
    const sends: number[] = [];
    const pacer = new Pacer(100, () => Date.now());
    for (let i = 0; i < 4; i++) {
      const c = fakeClient(sends, 3);
      pacer.adopt(c);
      c._doRequest(); // autocannon's first call at connect: now means "idle"
    }
    expect(sends).toEqual([]);
    pacer.start();
    vi.advanceTimersByTime(1000);
    pacer.stop();
    expect(sends.length).toBeGreaterThanOrEqual(100);
    expect(sends.length).toBeLessThanOrEqual(101);
    const gaps = sends.slice(1).map((t, i) => t - sends[i]);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(11);
    expect(pacer.slotsWaited).toBe(0);
  });

  it('holds a slot that finds every connection busy and reports how long it waited', () => {
    vi.useFakeTimers({ now: 0 });
    const sends: number[] = [];
    const pacer = new Pacer(1000, () => Date.now());
    const c = fakeClient(sends, 5);
    pacer.adopt(c);
    c._doRequest();
    pacer.start();
    vi.advanceTimersByTime(20);
    pacer.stop();
    expect(pacer.slotsWaited).toBeGreaterThan(10);
    expect(pacer.maxWaitMs).toBeGreaterThan(0);
    expect(pacer.waitedMs(c)).toBeGreaterThan(0);
  });

  it('names the fix when the autocannon client has no _doRequest', () => {
    expect(() => new Pacer(10).adopt({} as PacedClient)).toThrow(/autocannon 8/);
  });
});

describe('runLoad (autocannon paced)', () => {
  let server: http.Server | undefined;
  afterEach(() => new Promise<void>((r) => (server ? (server.closeAllConnections(), server.close(() => r())) : r())));

  it('arrives spread over the second at the server, not in one burst, with sub-millisecond latencies', async () => {
    const arrivals: number[] = [];
    server = http.createServer((req, res) => {
      arrivals.push(performance.now());
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const r = await runLoad({ url, body: '{}', headers: { 'content-type': 'application/json' }, rate: 200, seconds: 1, connections: 8 });
    expect(r.errors + r.non2xx).toBe(0);
    expect(arrivals.length).toBeGreaterThan(150);
    expect(arrivals.length).toBeLessThan(230);
    // autocannon's own overallRate would put all 200 in the first few tens of ms of the second.
    const t0 = arrivals[0];
    const firstTenth = arrivals.filter((t) => t - t0 < 100).length;
    expect(firstTenth).toBeLessThan(80);
    expect(r.times.some((t) => t % 1 !== 0)).toBe(true);
  });
});
