import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/service.js';
import { freshTopic, uniqueId } from '../helpers/stack.js';
import { type ApiHarness, enc, READ_TOKEN, startApiHarness, WRITE_TOKEN } from './harness.js';

/**
 * Every role against every route: operators may do everything, a producer token only its group's
 * part, a consumer token only its group's, readers only read. Every refusal is a 403 whose code
 * names the missing right, and writes nothing.
 */

type Caller = 'operator' | 'envReader' | 'reader' | 'producerP' | 'producerQ' | 'consumerG' | 'consumerH' | 'anonymous';
const CALLERS: Caller[] = [
  'operator',
  'envReader',
  'reader',
  'producerP',
  'producerQ',
  'consumerG',
  'consumerH',
  'anonymous',
];

let api: ApiHarness;
let topic: string;
const P = uniqueId('producer-p');
const Q = uniqueId('producer-q');
const G = uniqueId('consumer-g');
const H = uniqueId('consumer-h');
const K = uniqueId('order-of-p');
const tokens: Partial<Record<Caller, string | null>> = {
  operator: WRITE_TOKEN,
  envReader: READ_TOKEN,
  anonymous: null,
};
let revokableId: string;

const as = (caller: Caller) => tokens[caller] as string | null;
const createToken = async (role: string, group?: string) => {
  const res = await api.call('POST', '/v1/tokens', { body: { role, group, label: `roles test ${role}` } });
  expect(res.status).toBe(201);
  return res.body as { id: string; token: string };
};

beforeAll(async () => {
  api = await startApiHarness({ checkBackAfterMs: 600_000, resendAfterMs: 600_000 });
  topic = await freshTopic('roles');
  tokens.reader = (await createToken('reader')).token;
  tokens.producerP = (await createToken('producer', P)).token;
  tokens.producerQ = (await createToken('producer', Q)).token;
  tokens.consumerG = (await createToken('consumer', G)).token;
  tokens.consumerH = (await createToken('consumer', H)).token;
  revokableId = (await createToken('reader')).id;
  const prepared = await api.call('POST', '/v1/messages', { body: { key: K, topic, body: 'of P', producerGroup: P } });
  expect(prepared.status).toBe(201);
  await eventually(async () => (await api.call('GET', `/v1/messages/${enc(K)}`)).status === 200, 15_000, 'K');
});

afterAll(async () => {
  await api?.stop();
});

interface RouteCase {
  name: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: () => string;
  body?: () => unknown;
  /** Who may call it; everybody else gets 403 with the code given for them (401 for anonymous). */
  allowed: Caller[];
  refusals: Partial<Record<Caller, string>>;
}

const READ = 'READ_RIGHT_REQUIRED';
const PRODUCER = 'PRODUCER_RIGHT_REQUIRED';
const CONSUMER = 'CONSUMER_RIGHT_REQUIRED';
const OPERATOR = 'OPERATOR_RIGHT_REQUIRED';
const all = (code: string, except: Caller[] = []): Partial<Record<Caller, string>> =>
  Object.fromEntries(CALLERS.filter((c) => c !== 'anonymous' && !except.includes(c)).map((c) => [c, code]));

const readRoute = (name: string, url: () => string): RouteCase => ({
  name,
  method: 'GET',
  url,
  allowed: ['operator', 'envReader', 'reader'],
  refusals: all(READ, ['operator', 'envReader', 'reader']),
});
/** A route of P's: producer Q is refused for the group, consumers for the producer right. */
const producerRoute = (r: Omit<RouteCase, 'allowed' | 'refusals'>, readers = false): RouteCase => ({
  ...r,
  allowed: readers ? ['operator', 'envReader', 'reader', 'producerP'] : ['operator', 'producerP'],
  refusals: readers
    ? { producerQ: PRODUCER, consumerG: READ, consumerH: READ }
    : { envReader: PRODUCER, reader: PRODUCER, producerQ: PRODUCER, consumerG: PRODUCER, consumerH: PRODUCER },
});
const consumerRoute = (r: Omit<RouteCase, 'allowed' | 'refusals'>, readers = false): RouteCase => ({
  ...r,
  allowed: readers ? ['operator', 'envReader', 'reader', 'consumerG'] : ['operator', 'consumerG'],
  refusals: readers
    ? { consumerH: CONSUMER, producerP: READ, producerQ: READ }
    : { envReader: CONSUMER, reader: CONSUMER, consumerH: CONSUMER, producerP: CONSUMER, producerQ: CONSUMER },
});
const operatorRoute = (r: Omit<RouteCase, 'allowed' | 'refusals'>): RouteCase => ({
  ...r,
  allowed: ['operator'],
  refusals: all(OPERATOR, ['operator']),
});

const ROUTES: RouteCase[] = [
  readRoute('list messages', () => '/v1/messages?limit=1'),
  producerRoute({ name: 'get a message', method: 'GET', url: () => `/v1/messages/${enc(K)}` }, true),
  producerRoute({
    name: 'prepare a message',
    method: 'POST',
    url: () => '/v1/messages',
    body: () => ({ key: uniqueId('new'), topic, body: 'x', producerGroup: P }),
  }),
  {
    // Q sends as itself but with P's key: it may not reach P's message (confirm: true would confirm it).
    name: "send with another group's key",
    method: 'POST',
    url: () => '/v1/messages',
    body: () => ({ key: K, topic, body: 'x', producerGroup: Q, confirm: true }),
    allowed: [],
    refusals: { producerQ: PRODUCER },
  },
  producerRoute({ name: 'confirm', method: 'POST', url: () => `/v1/messages/${enc(K)}/confirm`, body: () => ({}) }),
  producerRoute({ name: 'cancel', method: 'POST', url: () => `/v1/messages/${enc(K)}/cancel`, body: () => ({}) }),
  {
    name: 'confirm as the operator',
    method: 'POST',
    url: () => `/v1/messages/${enc(K)}/confirm`,
    body: () => ({ by: 'operator' }),
    allowed: ['operator'],
    refusals: { producerP: OPERATOR },
  },
  operatorRoute({ name: 'resend', method: 'POST', url: () => `/v1/messages/${enc(K)}/resend` }),
  consumerRoute({
    name: 'ack',
    method: 'POST',
    url: () => `/v1/messages/${enc(K)}/acks`,
    body: () => ({ group: G, status: 'RECEIVED' }),
  }),
  readRoute('list subscriptions', () => '/v1/subscriptions'),
  consumerRoute({ name: 'get a subscription', method: 'GET', url: () => `/v1/subscriptions/${topic}/${G}` }, true),
  consumerRoute({
    name: 'subscribe',
    method: 'PUT',
    url: () => `/v1/subscriptions/${topic}/${G}`,
    body: () => ({ tagExpression: '*' }),
  }),
  consumerRoute({ name: 'unsubscribe', method: 'DELETE', url: () => `/v1/subscriptions/${topic}/${G}` }),
  ...(['producer', 'consumer'] as const).flatMap((kind) => {
    const [group, scoped] = kind === 'producer' ? [P, producerRoute] : [G, consumerRoute];
    const url = () => `/v1/${kind}s/${group}`;
    return [
      readRoute(`list ${kind}s`, () => `/v1/${kind}s`),
      scoped({ name: `get a ${kind}`, method: 'GET', url }, true),
      scoped({
        name: `register a ${kind} check-back`,
        method: 'PUT',
        url,
        body: () => ({ checkBackUrl: 'http://127.0.0.1:1/cb' }),
      }),
      scoped({ name: `forget a ${kind}`, method: 'DELETE', url }),
    ];
  }),
  readRoute('stats', () => '/v1/stats'),
  readRoute('metrics', () => '/metrics'),
  {
    name: 'health',
    method: 'GET',
    url: () => '/healthz',
    allowed: CALLERS,
    refusals: {},
  },
  { name: 'OpenAPI document', method: 'GET', url: () => '/openapi.json', allowed: CALLERS, refusals: {} },
  operatorRoute({
    name: 'create a token',
    method: 'POST',
    url: () => '/v1/tokens',
    body: () => ({ role: 'operator' }),
  }),
  operatorRoute({ name: 'list tokens', method: 'GET', url: () => '/v1/tokens' }),
  operatorRoute({ name: 'revoke a token', method: 'DELETE', url: () => `/v1/tokens/${revokableId}` }),
  ...(['decode', 'encode'] as const).map((op) =>
    operatorRoute({
      name: `${op} payloads`,
      method: 'POST',
      url: () => `/v1/codec/${op}`,
      body: () => ({ payloads: [] }),
    }),
  ),
];

/** What the refused calls could have changed, to compare before and after. */
async function snapshot() {
  const { prisma } = api;
  const [events, subscriptions, producers, consumers, tokenRows, messages] = await Promise.all([
    prisma.messageEvent.findMany({ where: { messageKey: K }, orderBy: { seq: 'asc' } }),
    prisma.subscription.findMany({ where: { consumerGroup: { in: [G, H] } } }),
    prisma.producer.findMany({ where: { producerGroup: { in: [P, Q] } } }),
    prisma.consumer.findMany({ where: { consumerGroup: { in: [G, H] } } }),
    prisma.apiToken.findMany({ orderBy: { id: 'asc' } }),
    prisma.message.findMany({ where: { producerGroup: { in: [P, Q] } }, orderBy: { key: 'asc' } }),
  ]);
  const state = await api.temporal.workflow.getHandle(`rmsg:${K}`).describe();
  return {
    events: events.map((e) => [e.seq, e.type]),
    subscriptions,
    producers,
    consumers,
    tokens: tokenRows.map((t) => [t.id, t.revokedAt]),
    messages: messages.map((m) => [m.key, m.status, m.version]),
    historyLength: state.historyLength,
  };
}

describe('each role against each route', () => {
  it('refusals: 403 naming the missing right (401 without a token), and nothing written', async () => {
    const before = await snapshot();
    const seen: string[] = [];
    for (const r of ROUTES) {
      const refused = Object.keys(r.refusals) as Caller[];
      for (const caller of r.allowed.includes('anonymous') ? refused : [...refused, 'anonymous' as const]) {
        const res = await api.call(r.method, r.url(), { token: as(caller), body: r.body?.() });
        const what = `${caller} ${r.name}: ${res.status} ${res.text.slice(0, 200)}`;
        if (caller === 'anonymous') {
          expect(res.status, what).toBe(401);
          expect(res.body.code, what).toBe('UNAUTHORIZED');
          continue;
        }
        expect(res.status, what).toBe(403);
        expect(res.body, what).toMatchObject({ code: r.refusals[caller], field: expect.any(String) });
        expect(res.body.message, what).toMatch(/right/);
        seen.push(`${caller}:${r.name}`);
      }
    }
    expect(seen.length).toBeGreaterThan(100);
    expect(await snapshot()).toEqual(before);
  });

  it('a revoked token stops working at once; a token of an unknown role cannot be made', async () => {
    const t = await createToken('producer', P);
    expect((await api.call('GET', `/v1/messages/${enc(K)}`, { token: t.token })).status).toBe(200);
    expect((await api.call('DELETE', `/v1/tokens/${t.id}`)).status).toBe(204);
    const after = await api.call('GET', `/v1/messages/${enc(K)}`, { token: t.token });
    expect(after.status).toBe(401);
    const bad = await api.call('POST', '/v1/tokens', { body: { role: 'admin' } });
    expect(bad.body).toMatchObject({ code: 'VALIDATION_FAILED', field: 'role' });
    const groupless = await api.call('POST', '/v1/tokens', { body: { role: 'consumer' } });
    expect(groupless.body).toEqual({
      code: 'VALIDATION_FAILED',
      field: 'group',
      message: 'group is required for a consumer token',
    });
    const listed = await api.call('GET', '/v1/tokens');
    const row = listed.body.items.find((i: { id: string }) => i.id === t.id);
    expect(row).toMatchObject({ role: 'producer', group: P, revokedAt: expect.any(String) });
    expect(JSON.stringify(listed.body)).not.toContain(t.token);
    const stored = await api.prisma.apiToken.findUniqueOrThrow({ where: { id: t.id } });
    expect(stored.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(stored.tokenHash).not.toContain(t.token);
  });

  it('allowed: every allowed caller gets past authorization on every route', async () => {
    for (const r of ROUTES) {
      for (const caller of r.allowed) {
        const res = await api.call(r.method, r.url(), { token: as(caller), body: r.body?.() });
        const what = `${caller} ${r.name}: ${res.status} ${res.text.slice(0, 200)}`;
        expect([401, 403], what).not.toContain(res.status);
        expect(res.status, what).toBeLessThan(500);
      }
    }
    // P's own calls did reach its message: it was confirmed by P (first) and acked by G.
    const m = (await api.call('GET', `/v1/messages/${enc(K)}`, { token: as('producerP') })).body;
    expect(m.events.find((e: { type: string }) => e.type === 'CONFIRMED').detail).toEqual({ by: 'producer' });
  });
});
