import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Payload } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATOR_COMMANDS } from '../../src/cli/operator-commands.js';
import { AesGcmCodec, codecKeysOf, ENCRYPTED_ENCODING } from '../../src/temporal/codec.js';
import { connectTemporalClient } from '../../src/temporal/connection.js';
import { type ApiHarness, enc, READ_TOKEN, startApiHarness } from '../api/harness.js';
import { connectTestClient, eventually } from '../helpers/service.js';
import { freshTopic, uniqueId } from '../helpers/stack.js';

const key = () => randomBytes(32).toString('base64');
const plain = (data: string): Payload => ({
  metadata: { encoding: new TextEncoder().encode('json/plain') },
  data: new TextEncoder().encode(data),
});
const text = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? []).toString('utf8');

describe('the AES-256-GCM payload codec', () => {
  it('round-trips, names its key, rotates by adding a key, and refuses tampered or unknown-key payloads', async () => {
    const k1 = key();
    const first = new AesGcmCodec(codecKeysOf({ keys: `k1:${k1}` }) as never);
    const [sealed] = await first.encode([plain('{"card":"4111"}')]);
    expect(text(sealed?.metadata?.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(text(sealed?.metadata?.['encryption-key-id'])).toBe('k1');
    expect(text(sealed?.data)).not.toContain('4111');
    expect(text((await first.decode([sealed as Payload]))[0]?.data)).toBe('{"card":"4111"}');

    // Rotation: k2 encrypts from now on, k1 still decrypts what it wrote.
    const rotated = new AesGcmCodec(codecKeysOf({ keys: `k1:${k1},k2:${key()}` }) as never);
    const [newer] = await rotated.encode([plain('new')]);
    expect(text(newer?.metadata?.['encryption-key-id'])).toBe('k2');
    expect(text((await rotated.decode([sealed as Payload]))[0]?.data)).toBe('{"card":"4111"}');
    await expect(first.decode([newer as Payload])).rejects.toThrow('payload encrypted with key k2, which is not in');

    const tampered = { ...sealed, data: Buffer.from(sealed?.data ?? []).fill(0, 20, 21) };
    await expect(first.decode([tampered])).rejects.toThrow();
    // Payloads written before the codec was turned on still read.
    expect(text((await first.decode([plain('old')]))[0]?.data)).toBe('old');
  });

  it('refuses bad key configuration by name', () => {
    expect(codecKeysOf({ keys: '' })).toBeUndefined();
    expect(() => codecKeysOf({ keys: `k1:${randomBytes(16).toString('base64')}` })).toThrow('key k1 must be 32 bytes');
    expect(() => codecKeysOf({ keys: 'justakey' })).toThrow('RMSG_CODEC_KEYS must be id:base64key pairs');
    expect(() => codecKeysOf({ keys: `k1:${key()}`, encryptWith: 'k9' })).toThrow('RMSG_CODEC_ENCRYPT_WITH names k9');
  });
});

describe('with the codec on', () => {
  let api: ApiHarness;
  let topic: string;
  const keys = `k1:${key()}`;

  beforeAll(async () => {
    api = await startApiHarness({ checkBackAfterMs: 600_000 }, { codec: { keys } });
    topic = await freshTopic('codec');
  });

  afterAll(async () => {
    await api?.stop();
  });

  it('the SDKs use the same codec: a producer check-back served by the SDK reads and answers encrypted payloads', async () => {
    // The SDKs take the keys from the environment, like the rest of their connection settings.
    process.env.RMSG_CODEC_KEYS = keys;
    const group = uniqueId('codec-sdk');
    const client = await connectTestClient(api.config, group);
    try {
      const asked: string[] = [];
      await client.serveCheckBack(group, async (k) => {
        asked.push(k);
        return 'COMMIT';
      });
      const k = uniqueId('sdk');
      await client.prepare({ key: k, topic, body: 'sdk body', timings: { checkBackAfterMs: 200 } });
      const m = await eventually(
        async () => {
          const r = await api.call('GET', `/v1/messages/${enc(k)}`);
          return r.status === 200 && r.body.status !== 'WAITING_CONFIRM' && r.body;
        },
        20_000,
        'the SDK check-back to commit',
      );
      expect(m.events.find((e: { type: string }) => e.type === 'CONFIRMED').detail).toEqual({ by: 'check-back' });
      expect(asked).toContain(k);
    } finally {
      await client.close();
      delete process.env.RMSG_CODEC_KEYS;
    }
  });

  it("Temporal's own client sees only ciphertext in history; the API, rmsg show and the codec route show the body", async () => {
    const secret = uniqueId('card-4111-1111');
    const k = uniqueId('paid');
    const sent = await api.call('POST', '/v1/messages', {
      body: { key: k, topic, body: `{"pan":"${secret}"}`, producerGroup: 'codec-shop' },
    });
    expect(sent.status).toBe(201);
    await eventually(async () => (await api.call('GET', `/v1/messages/${enc(k)}`)).status === 200, 15_000, 'projected');

    const raw = await connectTemporalClient(api.config.temporal, { keys: '' });
    try {
      // Every payload but the search attributes (plain by design: the server indexes them, none holds
      // the body), the SDK's own local-activity marker bookkeeping (`details.data`: ids and times) and the
      // trace context headers (`_tracer-data`: W3C trace ids).
      const payloadsOf = (v: unknown, path = ''): Payload[] => {
        if (!v || typeof v !== 'object' || v instanceof Uint8Array) return [];
        if (path.endsWith('.searchAttributes') || path.endsWith('.details.data') || path.endsWith('.header.fields'))
          return [];
        const o = v as Record<string, unknown>;
        const own = o.metadata && o.data instanceof Uint8Array ? [o as Payload] : [];
        return [...own, ...Object.entries(o).flatMap(([name, child]) => payloadsOf(child, `${path}.${name}`))];
      };
      // The start input, the summary, and the result of the first task's local activity (openMessage).
      const { history, payloads } = await eventually(
        async () => {
          const history = await raw.workflow.getHandle(`rmsg:${k}`).fetchHistory();
          const payloads = payloadsOf(history.events);
          return payloads.length >= 3 && { history, payloads };
        },
        15_000,
        'the first local activities in history',
      );
      const started = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
      expect(started.length).toBe(1);
      expect(text(started[0]?.metadata?.encoding)).toBe(ENCRYPTED_ENCODING);
      for (const p of payloads) {
        expect(text(p.metadata?.encoding)).toBe(ENCRYPTED_ENCODING);
        expect(text(p.data)).not.toContain(secret);
      }
      expect(JSON.stringify(history)).not.toContain(secret);

      // The codec route (Temporal UI's codec server) decodes for operators only.
      const asJson = {
        payloads: started.map((p) => ({
          metadata: Object.fromEntries(
            Object.entries(p.metadata ?? {}).map(([m, b]) => [m, Buffer.from(b ?? []).toString('base64')]),
          ),
          data: Buffer.from(p.data ?? []).toString('base64'),
        })),
      };
      const decoded = await api.call('POST', '/v1/codec/decode', { body: asJson });
      expect(decoded.status).toBe(200);
      expect(Buffer.from(decoded.body.payloads[0].data, 'base64').toString()).toContain(secret);
      expect((await api.call('POST', '/v1/codec/decode', { body: asJson, token: READ_TOKEN })).status).toBe(403);
    } finally {
      await raw.connection.close();
    }

    expect((await api.call('GET', `/v1/messages/${enc(k)}`)).body.body).toBe(`{"pan":"${secret}"}`);
    await api.app.listen({ host: '127.0.0.1', port: 0 });
    const port = (api.app.server.address() as AddressInfo).port;
    const lines: string[] = [];
    await OPERATOR_COMMANDS.show?.([k], { ...api.config, api: { ...api.config.api, port } }, (l) => lines.push(l));
    expect(lines).toContain(`body      {"pan":"${secret}"}`);
    await api.call('POST', `/v1/messages/${enc(k)}/cancel`, { body: { reason: 'test done' } });
  });
});
