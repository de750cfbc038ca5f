import { spawnSync } from 'node:child_process';
import dns from 'node:dns';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { askHttpCheckBack, MAX_ANSWER_BYTES } from '../../activities/check-back.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyCheckBack } from '../../src/check-back-signature.js';

/** A producer's check-back server: records each request as received and answers by path. */
interface Received {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}
const received: Received[] = [];
let base: string;
let bytesSentForHuge = 0;
let server: http.Server;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      received.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
      const path = req.url ?? '';
      if (path.startsWith('/commit')) return res.end('COMMIT');
      if (path === '/redirect') return res.writeHead(302, { location: `${base}/commit?via=redirect` }).end();
      if (path === '/fail') return res.writeHead(500).end('boom');
      if (path === '/huge') {
        // COMMIT followed by 10 MB of spaces, written as fast as the client reads.
        res.write('COMMIT');
        const chunk = Buffer.alloc(64 * 1024, ' ');
        const pump = () => {
          while (bytesSentForHuge < 10 * 1024 * 1024) {
            bytesSentForHuge += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        res.on('error', () => {});
        return pump();
      }
      res.end('UNKNOWN');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const secret = 'producer-secret-0123456789abcdef';
const ask = (path: string, allowedHosts = ['127.0.0.1']) =>
  askHttpCheckBack(
    { url: `${base}${path}`, key: 'order-1', kind: 'producer', group: 'order-service', createdAt: 1796500000000 },
    { secret, allowedHosts, timeoutMs: 5000 },
  );

describe('HTTP check-back calls', () => {
  it('are signed: the producer verifies the call (TypeScript and the README Python), a tampered one fails', async () => {
    expect(await ask('/commit?shop=1')).toBe('COMMIT');
    const call = received.at(-1) as Received;
    expect(call.body).toBe('{"key":"order-1","group":"order-service","kind":"producer","createdAt":1796500000000}');
    const request = { method: call.method, path: call.path, body: call.body, headers: call.headers };
    expect(verifyCheckBack(secret, request)).toBe(true);
    expect(verifyCheckBack(secret, { ...request, body: call.body.replace('order-1', 'order-2') })).toBe(false);
    expect(verifyCheckBack(secret, { ...request, path: '/commit?shop=2' })).toBe(false);
    expect(verifyCheckBack('another-secret-0123456789abcdef', request)).toBe(false);
    // A replay of this call ten minutes later is refused.
    expect(verifyCheckBack(secret, request, { nowMs: Date.now() + 10 * 60_000 })).toBe(false);

    const python = (body: string, path = call.path) =>
      spawnSync(
        'python3',
        [fileURLToPath(new URL('../../examples/check-back-verify/verify.py', import.meta.url)), secret, 'POST', path],
        { input: `${call.headers[TIMESTAMP_HEADER]}\n${call.headers[SIGNATURE_HEADER]}\n${body}` },
      ).status;
    expect(python(call.body)).toBe(0);
    expect(python(call.body.replace('producer"', 'consumer"'))).toBe(1);
    expect(python(call.body, '/commit')).toBe(1);
  });

  it('never follow a redirect: a 3xx is an error and its target is never called', async () => {
    const before = received.length;
    await expect(ask('/redirect')).rejects.toThrow(/HTTP 302 \(a redirect; redirects are not followed\)/);
    expect(received.slice(before).map((r) => r.path)).toEqual(['/redirect']);
  });

  it('need a 2xx answer', async () => {
    await expect(ask('/fail')).rejects.toThrow('check-back answered HTTP 500: boom');
  });

  it('read only the first few KiB: COMMIT followed by 10 MB of spaces is malformed', async () => {
    expect(await ask('/huge')).toBe(`malformed: the answer is longer than ${MAX_ANSWER_BYTES} bytes`);
    await new Promise((r) => setTimeout(r, 200));
    expect(bytesSentForHuge).toBeLessThan(10 * 1024 * 1024);
  });

  it('connect to the address that was checked: a host that resolves elsewhere a moment later (DNS rebinding) is not followed there', async () => {
    const answers = ['127.0.0.1', '169.254.169.254'];
    let resolutions = 0;
    const next = () => answers[Math.min(resolutions++, answers.length - 1)] as string;
    type Callback = (err: Error | null, addresses: dns.LookupAddress[]) => void;
    const lookup = vi
      .spyOn(dns, 'lookup')
      .mockImplementation(((_host: string, _opts: unknown, cb: Callback) =>
        cb(null, [{ address: next(), family: 4 }])) as unknown as typeof dns.lookup);
    try {
      const url = `${base.replace('127.0.0.1', 'rebinding.test')}/commit?via=rebinding`;
      const answer = askHttpCheckBack(
        { url, key: 'order-1', kind: 'producer', group: 'order-service', createdAt: 1796500000000 },
        { secret, allowedHosts: ['rebinding.test'], timeoutMs: 3000 },
      );
      await expect(answer).resolves.toBe('COMMIT');
      expect(received.at(-1)?.path).toBe('/commit?via=rebinding');
    } finally {
      lookup.mockRestore();
    }
  });

  it('never connect to a link-local or metadata address a host resolves to', async () => {
    type Callback = (err: Error | null, addresses: dns.LookupAddress[]) => void;
    const metadata = [{ address: '169.254.169.254', family: 4 }];
    const lookup = vi
      .spyOn(dns, 'lookup')
      .mockImplementation(((_host: string, _opts: unknown, cb: Callback) =>
        cb(null, metadata)) as unknown as typeof dns.lookup);
    try {
      const answer = askHttpCheckBack(
        { url: 'http://rebinding.test:9/cb', key: 'order-1', kind: 'producer', group: 'g', createdAt: 1 },
        { secret, allowedHosts: ['rebinding.test'], timeoutMs: 3000 },
      );
      await expect(answer).rejects.toThrow(/resolves to 169\.254\.169\.254, a link-local or metadata address/);
    } finally {
      lookup.mockRestore();
    }
  });

  it('go only to allowed hosts', async () => {
    const before = received.length;
    await expect(ask('/commit', ['localhost'])).rejects.toThrow(/host 127\.0\.0\.1 is not an allowed check-back host/);
    expect(received.length).toBe(before);
  });
});
