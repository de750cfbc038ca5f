import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshTopic, uniqueId } from '../helpers/stack.js';
import { type ApiHarness, enc, startApiHarness } from './harness.js';

/** The router's own refusals, valid keys and names at their longest, and the key rule's URL-unsafe cases. */
let api: ApiHarness;
let topic: string;
let url: string;
const producerGroup = uniqueId('edges-producer');

beforeAll(async () => {
  api = await startApiHarness({ checkBackAfterMs: 600_000, resendAfterMs: 600_000 });
  topic = await freshTopic('edges');
  url = await api.app.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await api?.stop();
});

const errorShape = (body: Record<string, unknown>) => {
  expect(Object.keys(body).sort()).toEqual(expect.arrayContaining(['code', 'message']));
  expect(Object.keys(body).every((k) => ['code', 'message', 'field'].includes(k))).toBe(true);
};

/** A raw HTTP/1.1 exchange, for what fetch would refuse to send. */
function rawRequest(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(request));
    let answer = '';
    socket.on('data', (c) => {
      answer += c;
    });
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

describe('keys and names at their longest', () => {
  it.each([
    ['191 characters', 'k'],
    ['191 characters that percent-encoding triples', ':'],
  ])('every message route takes a key of %s', async (_what, fill) => {
    const key = uniqueId('k').padEnd(191, fill);
    const created = await api.call('POST', '/v1/messages', { body: { key, topic, body: 'b', producerGroup } });
    expect(created.status).toBe(201);
    const shown = await api.call('GET', `/v1/messages/${enc(key)}`);
    expect(shown.status === 200 || shown.status === 404).toBe(true); // 404 until the projection is written
    errorShapeIfError(shown);
    const cancelled = await api.call('POST', `/v1/messages/${enc(key)}/cancel`, { body: { reason: 'edge' } });
    expect({ status: cancelled.status, status2: cancelled.body.status }).toEqual({ status: 200, status2: 'CANCELLED' });
    const again = await api.call('POST', `/v1/messages/${enc(key)}/confirm`);
    expect(again.status).toBe(409);
  });

  it('subscription and group routes take names of 127 characters', async () => {
    const longTopic = 't'.repeat(118) + uniqueId('').slice(1);
    const group = 'g'.repeat(118) + uniqueId('').slice(1);
    expect(longTopic.length).toBe(126);
    const sub = await api.call('PUT', `/v1/subscriptions/${longTopic}x/${group}x`, { body: {} });
    expect(sub.status).toBe(201);
    expect((await api.call('GET', `/v1/subscriptions/${longTopic}x/${group}x`)).status).toBe(200);
    expect((await api.call('DELETE', `/v1/subscriptions/${longTopic}x/${group}x`)).status).toBe(204);
    const producer = await api.call('PUT', `/v1/producers/${group}x`, { body: { checkBackUrl: null } });
    expect(producer.status).toBe(201);
  });
});

function errorShapeIfError(r: { status: number; body: Record<string, unknown> }) {
  if (r.status >= 400) errorShape(r.body);
}

describe('keys no URL client can reach are refused', () => {
  it.each(['.', '..', 'a/b', 'a?b', 'a#b', '100%', 'a\\b'])('%s', async (key) => {
    const r = await api.call('POST', '/v1/messages', { body: { key, topic, body: 'b', producerGroup } });
    expect({ status: r.status, field: r.body.field }).toEqual({ status: 400, field: 'key' });
    expect(r.body.message).toMatch(/^key must not/);
  });
});

describe("router-level errors answer the API's shape", () => {
  it('404 unknown route', async () => {
    const r = await api.call('GET', '/v1/nothing-here');
    expect(r.status).toBe(404);
    expect(r.body).toMatchObject({ code: 'NOT_FOUND', field: 'url' });
  });

  it('414 a path parameter longer than any valid one', async () => {
    const r = await api.call('GET', `/v1/messages/${'k'.repeat(600)}`);
    expect(r.status).toBe(414);
    errorShape(r.body);
    expect(r.body).toMatchObject({ code: 'URI_TOO_LONG', field: 'url' });
  });

  it('400 bad percent-encoding', async () => {
    const r = await api.call('GET', '/v1/messages/%E0%A4%A');
    expect(r.status).toBe(400);
    errorShape(r.body);
    expect(r.body).toMatchObject({ code: 'VALIDATION_FAILED', field: 'url' });
  });

  it('413 body too large, 415 content type, malformed JSON', async () => {
    const big = await api.call('POST', '/v1/messages', { body: { body: 'x'.repeat(3 * 1024 * 1024) } });
    expect(big.status).toBe(413);
    errorShape(big.body);
    const type = await api.call('POST', '/v1/messages', {
      body: '<x/>',
      headers: { 'content-type': 'application/xml' },
    });
    expect(type.status).toBe(415);
    errorShape(type.body);
    const json = await api.call('POST', '/v1/messages', { body: '{"key":' });
    expect(json.status).toBe(400);
    errorShape(json.body);
  });

  it('431 headers too large (real HTTP)', async () => {
    const port = Number(new URL(url).port);
    const answer = await rawRequest(
      port,
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'h'.repeat(20_000)}\r\nConnection: close\r\n\r\n`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 431 /);
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));
    errorShape(body);
    expect(body).toMatchObject({ code: 'HEADERS_TOO_LARGE', field: 'headers' });
  });
});
