import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../../src/api/app.js';
import { createPrisma, type PrismaClient } from '../../src/db/prisma.js';
import { testLogger, uniqueId } from '../helpers/stack.js';
import { type ApiHarness, READ_TOKEN, startApiHarness, WRITE_TOKEN } from './harness.js';

let api: ApiHarness;

beforeAll(async () => {
  api = await startApiHarness({ checkBackAfterMs: 600_000 });
});

afterAll(async () => {
  await api?.stop();
});

describe('check-back registration', () => {
  it('refuses credentials, metadata and link-local addresses, hosts off the allow-list: 400 naming the field, nothing written', async () => {
    for (const [url, rule] of [
      ['http://user:pw@127.0.0.1:9000/cb', /must not contain credentials/],
      ['http://169.254.169.254/latest/meta-data/', /link-local or cloud metadata/],
      ['http://[fe80::1]:9000/cb', /link-local or cloud metadata/],
      ['http://metadata.google.internal/', /link-local or cloud metadata/],
      ['https://orders.example.com/cb', /host orders\.example\.com is not an allowed check-back host/],
    ] as const) {
      const group = uniqueId('refused');
      for (const kind of ['producers', 'consumers']) {
        const res = await api.call('PUT', `/v1/${kind}/${group}`, { body: { checkBackUrl: url } });
        expect(res.status, url).toBe(400);
        expect(res.body).toMatchObject({
          code: 'VALIDATION_FAILED',
          field: 'checkBackUrl',
          message: expect.stringMatching(rule),
        });
      }
      expect(await api.prisma.producer.findUnique({ where: { producerGroup: group } })).toBeNull();
      expect(await api.prisma.consumer.findUnique({ where: { consumerGroup: group } })).toBeNull();
    }
  });

  it('the secret is write-only: made and shown once when not given, never read back; readers see a redacted URL', async () => {
    const group = uniqueId('signed');
    const url = `/v1/producers/${group}`;
    const checkBackUrl = 'http://127.0.0.1:9000/internal/check-back?shop=7';
    const created = await api.call('PUT', url, { body: { checkBackUrl } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ checkBackUrl, signed: true, checkBackSecret: expect.any(String) });
    const made = created.body.checkBackSecret as string;
    expect(made.length).toBeGreaterThanOrEqual(32);
    expect((await api.prisma.producer.findUniqueOrThrow({ where: { producerGroup: group } })).checkBackSecret).toBe(
      made,
    );

    // An update keeps the secret and does not show it again; a given one replaces it.
    const updated = await api.call('PUT', url, { body: { checkBackUrl } });
    expect(updated.body.checkBackSecret).toBeUndefined();
    const own = 'my-own-secret-of-at-least-32-characters';
    expect(
      (await api.call('PUT', url, { body: { checkBackUrl, checkBackSecret: own } })).body.checkBackSecret,
    ).toBeUndefined();
    expect((await api.prisma.producer.findUniqueOrThrow({ where: { producerGroup: group } })).checkBackSecret).toBe(
      own,
    );
    const short = await api.call('PUT', url, { body: { checkBackUrl, checkBackSecret: 'short' } });
    expect(short.body).toMatchObject({
      field: 'checkBackSecret',
      message: 'checkBackSecret must be at least 32 characters',
    });

    const asOperator = await api.call('GET', url);
    expect(asOperator.body.checkBackUrl).toBe(checkBackUrl);
    const asReader = await api.call('GET', url, { token: READ_TOKEN });
    expect(asReader.body.checkBackUrl).toBe('http://127.0.0.1:9000/…');
    const list = await api.call('GET', '/v1/producers', { token: READ_TOKEN });
    expect(list.text).not.toContain('/internal/check-back');
    for (const text of [asOperator.text, asReader.text, list.text, (await api.call('GET', '/v1/producers')).text]) {
      expect(text).not.toContain(own);
      expect(text).not.toContain(made);
      expect(text).not.toContain('checkBackSecret');
    }
  });
});

describe('hardening', () => {
  let broken: FastifyInstance;
  let brokenPrisma: PrismaClient;

  beforeAll(async () => {
    // An API whose MySQL database does not exist and whose RocketMQ does not answer.
    const url = new URL(api.config.databaseUrl);
    url.pathname = '/rmsg_no_such_database';
    url.searchParams.set('acquireTimeout', '1000'); // fail fast
    brokenPrisma = createPrisma(url.toString(), { connectionLimit: 1 });
    broken = createApi({
      config: {
        ...api.config,
        rocketmq: {
          ...api.config.rocketmq,
          endpoints: '127.0.0.1:1',
          namesrv: '127.0.0.1:1',
          brokerAddr: '127.0.0.1:1',
        },
      },
      prisma: brokenPrisma,
      temporal: api.temporal,
      log: testLogger,
    });
    await broken.ready();
  });

  afterAll(async () => {
    await broken?.close();
    await brokenPrisma?.$disconnect();
  });

  it('500s say only that it failed and the request id, never the cause', async () => {
    const res = await broken.inject({
      method: 'GET',
      url: '/v1/stats',
      headers: { authorization: `Bearer ${WRITE_TOKEN}` },
    });
    expect(res.statusCode).toBe(500);
    const body = res.json();
    expect(body.code).toBe('INTERNAL_ERROR');
    expect(body.message).toMatch(/^internal error \(request \S+\); the service log has the cause$/);
    expect(res.body).not.toMatch(/rmsg_no_such_database|prisma|SELECT|127\.0\.0\.1/i);
  });

  it('/healthz tells anonymous callers what is down, and only token holders why', async () => {
    const anonymous = await broken.inject({ method: 'GET', url: '/healthz' });
    expect(anonymous.statusCode).toBe(503);
    const checks = anonymous.json().checks;
    expect(checks.mysql.status).toBe('down');
    expect(checks.rocketmq.status).toBe('down');
    expect(JSON.stringify(checks)).not.toContain('error');
    const reader = await broken.inject({
      method: 'GET',
      url: '/healthz',
      headers: { authorization: `Bearer ${READ_TOKEN}` },
    });
    expect(reader.json().checks.rocketmq.error).toEqual(expect.any(String));
  });

  it('every answer carries the security headers, errors included', async () => {
    for (const [url, token] of [
      ['/v1/stats', WRITE_TOKEN],
      ['/v1/stats', null],
      ['/no/such/route', WRITE_TOKEN],
    ] as const) {
      const res = await api.call('GET', url, { token });
      expect(res.headers).toMatchObject({
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
        'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
        'referrer-policy': 'no-referrer',
        'cache-control': 'no-store',
      });
    }
  });

  it('Temporal UI may call the codec routes from its origin (CORS), and only those, only from there', async () => {
    const ui = new URL(api.config.temporal.uiUrl).origin;
    const preflight = await api.app.inject({
      method: 'OPTIONS',
      url: '/v1/codec/decode',
      headers: { origin: ui, 'access-control-request-method': 'POST' },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(ui);
    expect(preflight.headers['access-control-allow-headers']).toContain('authorization');
    const decode = await api.call('POST', '/v1/codec/decode', { body: { payloads: [] }, headers: { origin: ui } });
    expect(decode.headers['access-control-allow-origin']).toBe(ui);
    const elsewhere = await api.call('POST', '/v1/codec/decode', {
      body: { payloads: [] },
      headers: { origin: 'https://evil.example' },
    });
    expect(elsewhere.headers['access-control-allow-origin']).toBeUndefined();
    const other = await api.call('GET', '/v1/stats', { headers: { origin: ui } });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('write routes can be rate limited per caller (off by default)', async () => {
    const limited = createApi({
      config: { ...api.config, api: { ...api.config.api, writeRateLimitPerMinute: 2 } },
      prisma: api.prisma,
      temporal: api.temporal,
      log: testLogger,
    });
    await limited.ready();
    try {
      const put = (token: string) =>
        limited.inject({
          method: 'PUT',
          url: `/v1/subscriptions/rate-topic/${uniqueId('rate')}`,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          payload: '{}',
        });
      expect((await put(WRITE_TOKEN)).statusCode).toBe(201);
      expect((await put(WRITE_TOKEN)).statusCode).toBe(201);
      const third = await put(WRITE_TOKEN);
      expect(third.statusCode).toBe(429);
      expect(third.json()).toMatchObject({ code: 'RATE_LIMITED' });
      expect(Number(third.headers['retry-after'])).toBeGreaterThan(0);
      const reads = await limited.inject({
        method: 'GET',
        url: '/v1/stats',
        headers: { authorization: `Bearer ${WRITE_TOKEN}` },
      });
      expect(reads.statusCode).toBe(200);
      // Another caller has its own budget.
      const token = (await api.call('POST', '/v1/tokens', { body: { role: 'consumer', group: 'rate-group' } })).body
        .token;
      const other = await limited.inject({
        method: 'PUT',
        url: '/v1/subscriptions/rate-topic/rate-group',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        payload: '{}',
      });
      expect([200, 201]).toContain(other.statusCode);
    } finally {
      await limited.close();
    }
    // The API of the other tests has no limit.
    for (let i = 0; i < 5; i++) {
      expect((await api.call('PUT', `/v1/subscriptions/rate-topic/${uniqueId('free')}`, { body: {} })).status).toBe(
        201,
      );
    }
  });
});
