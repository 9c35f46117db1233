/**
 * Benchmark-only reference: the least an extra Node.js HTTP hop costs on this machine. A bare
 * node:http server that forwards each request unchanged (path, content-type, signature) to one
 * upstream over a keep-alive agent and sends the upstream's answer back, with no framework, no
 * tokenizer and no checks. The benchmark runs the direct path through it, so "bare hop - direct"
 * is the floor under any edge written on Node's HTTP stack, and "edge - bare hop" is what the
 * edge's own work adds. Not a serving component.
 *
 *     node --import tsx scripts/edge-bench/bare-proxy.ts http://127.0.0.1:8081
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Sockets kept open to the upstream; more than the benchmark ever has in flight. */
const MAX_SOCKETS = 256;
const FORWARDED_HEADERS = ['content-type', 'accept', 'x-abq-signature'];

const upstream = new URL(process.argv[2] ?? '');
if (upstream.protocol !== 'http:') throw new Error(`bare-proxy: pass the upstream as http://host:port; got '${process.argv[2]}'`);
const agent = new http.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS, scheduling: 'lifo' });

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const headers: Record<string, string> = { 'content-length': String(body.length) };
    for (const h of FORWARDED_HEADERS) {
      const v = req.headers[h];
      if (typeof v === 'string') headers[h] = v;
    }
    const up = http.request({ agent, host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers }, (ur) => {
      const out: Buffer[] = [];
      ur.on('data', (c: Buffer) => out.push(c));
      ur.on('end', () => {
        const answer = Buffer.concat(out);
        res.writeHead(ur.statusCode ?? 502, { 'content-type': ur.headers['content-type'] ?? 'application/octet-stream', 'content-length': String(answer.length) });
        res.end(answer);
      });
    });
    up.once('socket', (s) => s.setNoDelay(true));
    up.on('error', (e) => {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`bare-proxy: upstream failed: ${e.message}`);
    });
    up.end(body);
  });
});
// Exit through process.exit so a --cpu-prof profile is written.
process.on('SIGTERM', () => process.exit(0));
server.listen(0, '127.0.0.1', () => console.log(`bare-proxy listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`));
