import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES } from '../../src/message-spec.js';
import { eventually } from '../helpers/service.js';
import { freshTopic, uniqueId } from '../helpers/stack.js';
import { type ApiHarness, type ApiResponse, enc, READ_TOKEN, startApiHarness } from './harness.js';

let api: ApiHarness;
let topic: string;
const producerGroup = uniqueId('http-producer');

const spec = (over: Record<string, unknown> = {}) => ({
  key: uniqueId('k'),
  topic,
  body: 'hello',
  producerGroup,
  ...over,
});

/** Waits until the workflow has written the message's projection row. */
const projected = (key: string, status?: string) =>
  eventually(
    async () => {
      const r = await api.call('GET', `/v1/messages/${enc(key)}`);
      return r.status === 200 && (!status || r.body.status === status) && r.body;
    },
    15_000,
    `${key} projected${status ? ` as ${status}` : ''}`,
  );

beforeAll(async () => {
  // Check-backs and resends are far away: these messages wait for the test's own calls.
  api = await startApiHarness({ checkBackAfterMs: 600_000, resendAfterMs: 600_000 });
  topic = await freshTopic('api');
});

afterAll(async () => {
  await api?.stop();
});

describe('POST /v1/messages', () => {
  it('prepares (201), is idempotent by key (200, nothing new), refuses the key with other content (409), and GET shows the projection', async () => {
    const body = spec({ tag: 'created', properties: { region: 'eu' } });
    const first = await api.call('POST', '/v1/messages', { body });
    expect(first.status).toBe(201);
    expect(first.body).toEqual({ key: body.key, workflowId: `rmsg:${body.key}`, created: true, confirmed: false });
    const again = await api.call('POST', '/v1/messages', { body: { ...body, properties: { region: 'eu' } } });
    expect(again.status).toBe(200);
    expect(again.body.created).toBe(false);
    for (const other of [{ body: 'other' }, { topic: `${topic}x` }, { confirm: true, body: 'third' }]) {
      const conflict = await api.call('POST', '/v1/messages', { body: { ...body, ...other } });
      expect(conflict.status).toBe(409);
      expect(conflict.body).toMatchObject({ code: 'KEY_CONFLICT', field: 'key' });
    }

    const row = await projected(body.key, 'WAITING_CONFIRM');
    expect(row).toMatchObject({ key: body.key, topic, tag: 'created', body: 'hello', producerGroup, archivedAt: null });
    expect(row.properties).toEqual({ region: 'eu' });
    expect(row.events.map((e: { type: string }) => e.type)).toEqual(['PREPARED']);
    expect(row.timings.checkBackAfterMs).toBe(600_000);
    await api.call('POST', `/v1/messages/${enc(body.key)}/cancel`, { body: { reason: 'test done' } });
  });

  it('names the field and the rule of every invalid input', async () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ key: undefined }, 'key', /^key is required/],
      [{ key: '' }, 'key', /^key must not be empty/],
      [{ key: 'has space' }, 'key', /^key must be printable ASCII/],
      [{ topic: 'bad topic!' }, 'topic', /^topic must be 1-127 of/],
      [{ topic: undefined }, 'topic', /^topic is required/],
      [{ producerGroup: undefined }, 'producerGroup', /^producerGroup is required/],
      [{ body: 'x'.repeat(MAX_BODY_BYTES + 1) }, 'body', /^body must be at most 1048576 bytes/],
      [{ body: 42 }, 'body', /^body is required and must be a string/],
      [{ bogus: 1 }, 'bogus', /^bogus is not a known field/],
      [{ timings: { maxSends: 0 } }, 'timings.maxSends', /^timings\.maxSends /],
      [{ timings: { resendAfterMs: -5 } }, 'timings.resendAfterMs', /^timings\.resendAfterMs /],
      [{ timings: { resendEvery: 5 } }, 'timings.resendEvery', /^timings\.resendEvery is not a known field/],
      [{ delayMs: 5000, orderKey: 'o' }, 'delayMs', /cannot be combined/],
      [{ delayMs: 1.5 }, 'delayMs', /^delayMs /],
      [{ tag: 'a|b' }, 'tag', /^tag must not contain/],
      [{ confirm: 'yes' }, 'confirm', /^confirm must be true or false/],
    ];
    for (const [over, field, message] of cases) {
      const r = await api.call('POST', '/v1/messages', { body: spec(over) });
      expect({ over, status: r.status, code: r.body.code, field: r.body.field }).toEqual({
        over,
        status: 400,
        code: 'VALIDATION_FAILED',
        field,
      });
      expect(r.body.message).toMatch(message);
    }
  });

  it('refuses a request larger than the limit (413), a non-object body and bad JSON (400)', async () => {
    const huge = await api.call('POST', '/v1/messages', { body: spec({ body: 'x'.repeat(3 * 1024 * 1024) }) });
    expect(huge.status).toBe(413);
    expect(huge.body).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', field: 'requestBody' });
    expect(huge.body.message).toMatch(/^requestBody must be at most \d+ bytes/);

    const array = await api.call('POST', '/v1/messages', { body: [spec()] });
    expect(array.body).toEqual({
      code: 'VALIDATION_FAILED',
      field: 'requestBody',
      message: 'requestBody must be a JSON object',
    });
    const broken = await api.call('POST', '/v1/messages', { body: '{"key": ' });
    expect(broken.status).toBe(400);
    expect(broken.body).toMatchObject({ code: 'VALIDATION_FAILED', field: 'requestBody' });
    const missing = await api.call('POST', '/v1/messages');
    expect(missing.body).toMatchObject({ field: 'key', message: 'key is required and must be a string' });
  });

  it('with confirm: true sends at once; confirm after cancel and cancel after confirm are 409', async () => {
    const sent = spec({ confirm: true });
    expect((await api.call('POST', '/v1/messages', { body: sent })).body.confirmed).toBe(true);
    await projected(sent.key, 'FINISHED'); // no subscribers: finished as soon as confirmed
    const late = await api.call('POST', `/v1/messages/${enc(sent.key)}/cancel`);
    expect(late.status).toBe(409);
    expect(late.body).toMatchObject({ code: 'INVALID_TRANSITION', field: 'key' });

    const prepared = spec();
    await api.call('POST', '/v1/messages', { body: prepared });
    const cancelled = await api.call('POST', `/v1/messages/${enc(prepared.key)}/cancel`, {
      body: { reason: 'order rolled back' },
    });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'CANCELLED', cancelReason: 'order rolled back' });
    expect((await api.call('POST', `/v1/messages/${enc(prepared.key)}/cancel`)).status).toBe(200); // idempotent
    const confirm = await api.call('POST', `/v1/messages/${enc(prepared.key)}/confirm`);
    expect(confirm.status).toBe(409);
    expect(confirm.body.code).toBe('INVALID_TRANSITION');
    expect(confirm.body.message).toMatch(/CANCELLED/i);
    const byOperator = spec();
    await api.call('POST', '/v1/messages', { body: byOperator });
    await api.call('POST', `/v1/messages/${enc(byOperator.key)}/cancel`, { body: { by: 'operator' } });
    const operatorRow = await projected(byOperator.key, 'CANCELLED');
    expect(operatorRow.events.at(-1)).toMatchObject({ type: 'CANCELLED', detail: { by: 'operator' } });
    const resend = await api.call('POST', `/v1/messages/${enc(prepared.key)}/resend`);
    expect(resend.status).toBe(409);
    const sendAgain = await api.call('POST', '/v1/messages', { body: { ...prepared, confirm: true } });
    expect(sendAgain.status).toBe(409);
    const badActor = await api.call('POST', `/v1/messages/${enc(prepared.key)}/confirm`, { body: { by: 'cron' } });
    expect(badActor.body).toMatchObject({ field: 'by', message: 'by must be producer or operator' });
    const row = await projected(prepared.key, 'CANCELLED');
    expect(row.events.find((e: { type: string }) => e.type === 'CANCELLED').detail).toMatchObject({
      by: 'producer',
      reason: 'order rolled back',
    });
  });
});

describe('errors, auth', () => {
  it('answers 404 MESSAGE_NOT_FOUND for unknown keys on every message route', async () => {
    const key = uniqueId('never');
    for (const [method, url, body] of [
      ['GET', `/v1/messages/${key}`, undefined],
      ['POST', `/v1/messages/${key}/confirm`, undefined],
      ['POST', `/v1/messages/${key}/cancel`, undefined],
      ['POST', `/v1/messages/${key}/resend`, undefined],
      ['POST', `/v1/messages/${key}/acks`, { group: 'g', status: 'CONSUMED' }],
    ] as const) {
      const r = await api.call(method, url, { body });
      expect({ url, status: r.status, body: r.body }).toEqual({
        url,
        status: 404,
        body: { code: 'MESSAGE_NOT_FOUND', field: 'key', message: `message ${key} does not exist` },
      });
    }
    const route = await api.call('GET', '/v1/nothing-here');
    expect(route.status).toBe(404);
    expect(route.body).toMatchObject({ code: 'NOT_FOUND', field: 'url' });
    const ack = await api.call('POST', `/v1/messages/${key}/acks`, { body: { group: 'g', status: 'DONE' } });
    expect(ack.body).toMatchObject({ field: 'status', message: 'status must be RECEIVED, CONSUMED or FAILED' });
  });

  it('401 without or with a wrong token, 403 for the read token on a write route; health and docs are open', async () => {
    const none = await api.call('GET', '/v1/messages', { token: null });
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    expect(none.body).toMatchObject({ code: 'UNAUTHORIZED', field: 'authorization' });
    const basic = await api.call('GET', '/v1/stats', { token: null, headers: { authorization: 'Basic abc' } });
    expect(basic.status).toBe(401);
    const wrong = await api.call('GET', '/v1/messages', { token: 'not-the-token-at-all' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.message).toBe('authorization token is not valid');
    const writeWithRead = await api.call('POST', '/v1/messages', { token: READ_TOKEN, body: spec() });
    expect(writeWithRead.status).toBe(403);
    expect(writeWithRead.body).toMatchObject({ code: 'PRODUCER_RIGHT_REQUIRED', field: 'authorization' });
    const putWithRead = await api.call('PUT', `/v1/producers/${producerGroup}`, { token: READ_TOKEN, body: {} });
    expect(putWithRead.status).toBe(403);
    expect((await api.call('GET', '/v1/messages?limit=1', { token: READ_TOKEN })).status).toBe(200);
    expect((await api.call('GET', '/v1/stats')).status).toBe(200); // the write token reads too
    expect((await api.call('GET', '/healthz', { token: null })).status).toBe(200);
    expect((await api.call('GET', '/openapi.json', { token: null })).status).toBe(200);
    expect((await api.call('GET', '/metrics', { token: null })).status).toBe(401);
  });
});

describe('GET /v1/messages', () => {
  it('pages newest first with limit and cursor: no duplicates, no gaps', async () => {
    const pageTopic = await freshTopic('api-page');
    const keys: string[] = [];
    for (let i = 0; i < 7; i++) {
      const body = { ...spec(), topic: pageTopic };
      keys.push(body.key);
      expect((await api.call('POST', '/v1/messages', { body })).status).toBe(201);
    }
    await eventually(
      async () => (await api.call('GET', `/v1/messages?topic=${pageTopic}&limit=500`)).body.items.length === 7,
      15_000,
      'all 7 projected',
    );
    const seen: string[] = [];
    const created: string[] = [];
    let cursor: string | null = null;
    const sizes: number[] = [];
    do {
      const page: ApiResponse = await api.call(
        'GET',
        `/v1/messages?topic=${pageTopic}&limit=3${cursor ? `&cursor=${enc(cursor)}` : ''}`,
        { token: READ_TOKEN },
      );
      expect(page.status).toBe(200);
      sizes.push(page.body.items.length);
      for (const m of page.body.items) {
        seen.push(m.key);
        created.push(m.createdAt);
        expect(m.body).toBeUndefined(); // lists leave bodies out
      }
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(sizes).toEqual([3, 3, 1]);
    expect(new Set(seen).size).toBe(7);
    expect([...seen].sort()).toEqual([...keys].sort());
    expect(created).toEqual([...created].sort().reverse()); // newest first
    await Promise.all(keys.map((k) => api.call('POST', `/v1/messages/${enc(k)}/cancel`)));
  });

  it('filters by status, topic, producer group, consumer group and time; rejects bad filters by name', async () => {
    const t = await freshTopic('api-filter');
    const group = uniqueId('sub');
    expect((await api.call('PUT', `/v1/subscriptions/${t}/${group}`, { body: {} })).status).toBe(201);
    const otherProducer = uniqueId('other-producer');
    const cancelled = { ...spec(), topic: t };
    const waiting = { ...spec(), topic: t, producerGroup: otherProducer };
    const sent = { ...spec(), topic: t, confirm: true };
    for (const b of [cancelled, waiting, sent]) await api.call('POST', '/v1/messages', { body: b });
    await api.call('POST', `/v1/messages/${enc(cancelled.key)}/cancel`);
    await projected(cancelled.key, 'CANCELLED');
    await projected(waiting.key, 'WAITING_CONFIRM');
    // The row exists from the first workflow task; its deliveries come with the publication.
    await eventually(async () => (await projected(sent.key, 'SENDING')).sendCount === 1, 15_000, 'published');

    const keysOf = async (query: string) => {
      const r = await api.call('GET', `/v1/messages?topic=${t}&${query}`);
      expect(r.status).toBe(200);
      return r.body.items.map((m: { key: string }) => m.key);
    };
    expect(await keysOf('status=CANCELLED')).toEqual([cancelled.key]);
    expect(await keysOf(`producerGroup=${otherProducer}`)).toEqual([waiting.key]);
    expect(await keysOf(`consumerGroup=${group}`)).toEqual([sent.key]);
    const sentRow = (await api.call('GET', `/v1/messages?topic=${t}&consumerGroup=${group}`)).body.items[0];
    expect(sentRow.deliveries).toMatchObject([{ consumerGroup: group, status: 'PENDING' }]);
    const hourAgo = new Date(Date.now() - 3600_000).toISOString();
    const inAnHour = new Date(Date.now() + 3600_000).toISOString();
    expect(await keysOf(`from=${hourAgo}&to=${inAnHour}`)).toHaveLength(3);
    expect(await keysOf(`from=${inAnHour}`)).toEqual([]);
    expect(await keysOf(`to=${hourAgo}`)).toEqual([]);

    for (const [query, field] of [
      ['status=LOST', 'status'],
      ['limit=0', 'limit'],
      ['limit=501', 'limit'],
      ['limit=ten', 'limit'],
      ['cursor=bm90LWFuLWlk', 'cursor'],
      ['from=yesterday', 'from'],
      ['topic=no%20spaces', 'topic'],
      ['sort=asc', 'sort'],
    ]) {
      const r = await api.call('GET', `/v1/messages?${query}`);
      expect({ query, status: r.status, field: r.body.field }).toEqual({ query, status: 400, field });
      expect(r.body.message.startsWith(`${field} `)).toBe(true);
    }

    const stats = await api.call('GET', '/v1/stats', { token: READ_TOKEN });
    expect(stats.body.messages.byTopic[t]).toEqual({ CANCELLED: 1, WAITING_CONFIRM: 1, SENDING: 1 });
    expect(stats.body.deliveries.byConsumerGroup[group]).toEqual({ PENDING: 1 });
    expect(Object.keys(stats.body.messages.byStatus).sort()).toEqual(
      ['CANCELLED', 'DEAD', 'FINISHED', 'SENDING', 'WAITING_CONFIRM'].sort(),
    );
    await api.call('POST', `/v1/messages/${enc(waiting.key)}/cancel`);
  });
});

describe('registrations', () => {
  it('subscriptions: PUT creates (201) then replaces (200), GET, list, DELETE (204, then 404)', async () => {
    const t = uniqueId('topic');
    const g = uniqueId('group');
    const url = `/v1/subscriptions/${t}/${g}`;
    expect((await api.call('GET', url)).status).toBe(404);
    const created = await api.call('PUT', url, { body: { tagExpression: 'created || paid' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ topic: t, consumerGroup: g, tagExpression: 'created || paid', enabled: true });
    const replaced = await api.call('PUT', url, { body: { tagExpression: '*', enabled: false } });
    expect(replaced.status).toBe(200);
    expect((await api.call('GET', url, { token: READ_TOKEN })).body).toMatchObject({
      tagExpression: '*',
      enabled: false,
    });
    expect((await api.call('GET', `/v1/subscriptions?topic=${t}`)).body.items).toHaveLength(1);
    const bad = await api.call('PUT', url, { body: { tagExpression: 'a | b' } });
    expect(bad.body).toMatchObject({ code: 'VALIDATION_FAILED', field: 'tagExpression' });
    const badName = await api.call('PUT', `/v1/subscriptions/${t}/bad%20group`, { body: {} });
    expect(badName.body).toMatchObject({ code: 'VALIDATION_FAILED', field: 'group' });
    expect((await api.call('DELETE', url)).status).toBe(204);
    const gone = await api.call('DELETE', url);
    expect(gone.status).toBe(404);
    expect(gone.body.code).toBe('NOT_FOUND');
  });

  it('producers and consumers: check-back URLs, validated', async () => {
    for (const kind of ['producers', 'consumers']) {
      const g = uniqueId(kind);
      const url = `/v1/${kind}/${g}`;
      const created = await api.call('PUT', url, { body: { checkBackUrl: 'http://127.0.0.1:1/check' } });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        group: g,
        checkBackUrl: 'http://127.0.0.1:1/check',
        checkBackTaskQueue: null,
      });
      expect((await api.call('PUT', url, { body: { checkBackUrl: null } })).body.checkBackUrl).toBeNull();
      const bad = await api.call('PUT', url, { body: { checkBackUrl: 'ftp://example/x' } });
      expect(bad.body).toEqual({
        code: 'VALIDATION_FAILED',
        field: 'checkBackUrl',
        message: 'checkBackUrl must be an http(s) URL',
      });
      const list = await api.call('GET', `/v1/${kind}`, { token: READ_TOKEN });
      expect(list.body.items.map((p: { group: string }) => p.group)).toContain(g);
      expect((await api.call('DELETE', url)).status).toBe(204);
      expect((await api.call('GET', url)).status).toBe(404);
    }
  });
});

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3.1 document with every route, generated from the validating schemas', async () => {
    const r = await api.call('GET', '/openapi.json', { token: null });
    const doc = JSON.parse(r.text);
    expect(doc.openapi).toBe('3.1.0');
    const routes = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(routes).toEqual(
      expect.arrayContaining([
        'POST /v1/messages',
        'GET /v1/messages',
        'GET /v1/messages/{key}',
        'POST /v1/messages/{key}/confirm',
        'POST /v1/messages/{key}/cancel',
        'POST /v1/messages/{key}/resend',
        'POST /v1/messages/{key}/acks',
        'GET /v1/subscriptions',
        'GET /v1/subscriptions/{topic}/{group}',
        'PUT /v1/subscriptions/{topic}/{group}',
        'DELETE /v1/subscriptions/{topic}/{group}',
        'GET /v1/producers',
        'PUT /v1/producers/{group}',
        'DELETE /v1/producers/{group}',
        'GET /v1/consumers/{group}',
        'PUT /v1/consumers/{group}',
        'GET /v1/stats',
        'GET /healthz',
        'GET /metrics',
        'GET /openapi.json',
        'GET /v1/dead-groups',
        'POST /v1/redrives',
        'GET /v1/redrives',
        'GET /v1/redrives/{id}',
        'POST /v1/audits',
        'GET /v1/audits',
        'GET /v1/overview',
        'GET /v1/whoami',
        'GET /console',
      ]),
    );
    const create = doc.paths['/v1/messages'].post;
    const schema = create.requestBody.content['application/json'].schema;
    expect(schema.required).toEqual(expect.arrayContaining(['key', 'topic', 'body', 'producerGroup']));
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.topic.pattern).toBeDefined();
    expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(['201', '200', '400', '401', '403']));
    const list = doc.paths['/v1/messages'].get.parameters;
    expect(list.find((p: { name: string }) => p.name === 'limit')).toMatchObject({
      in: 'query',
      required: false,
      schema: { minimum: 1, maximum: 500, default: 50 },
    });
    expect(doc.paths['/v1/messages/{key}'].get.parameters[0]).toMatchObject({
      name: 'key',
      in: 'path',
      required: true,
    });
    expect(doc.paths['/healthz'].get.security).toEqual([]);
    expect(doc.components.securitySchemes.bearer).toEqual({ type: 'http', scheme: 'bearer' });
  });
});
