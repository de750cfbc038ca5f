import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReliableMessageClient } from '../../src/client/index.js';
import { type ApiHarness, READ_TOKEN, startApiHarness, WRITE_TOKEN } from '../api/harness.js';
import { runRmsg } from '../helpers/rmsg.js';
import { connectTestClient, eventually } from '../helpers/service.js';
import { freshTopic, uniqueId } from '../helpers/stack.js';

let api: ApiHarness;
let url: string;
let client: ReliableMessageClient;
let topic: string;

const rmsg = (args: string[], token: string | undefined = WRITE_TOKEN) => runRmsg(url, args, token);

beforeAll(async () => {
  api = await startApiHarness({ maxSends: 1, resendAfterMs: 500 });
  url = await api.app.listen({ host: '127.0.0.1', port: 0 });
  topic = await freshTopic('cli');
  client = await connectTestClient(api.config, uniqueId('cli-producer'));
});

afterAll(async () => {
  await client?.close();
  await api?.stop();
});

describe('rmsg (the real binary, against the running API)', () => {
  it('list and show find a message; show links to Temporal UI', async () => {
    const key = uniqueId('cli');
    await client.prepare({ key, topic, tag: 'created', body: '{}' });
    await eventually(
      async () => (await api.prisma.message.findUnique({ where: { key } })) ?? undefined,
      10_000,
      'projection',
    );

    const list = await rmsg(['list', '--topic', topic], READ_TOKEN);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/KEY\s+STATUS\s+TOPIC/);
    expect(list.stdout).toContain(key);
    expect(list.stdout).toContain('WAITING_CONFIRM');

    const show = await rmsg(['show', key], READ_TOKEN);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain(`message   ${key}`);
    expect(show.stdout).toContain(`/workflows/${encodeURIComponent(`rmsg:${key}`)}`);
    expect(show.stdout).toMatch(/PREPARED/);

    const json = JSON.parse((await rmsg(['show', key, '--json'], READ_TOKEN)).stdout);
    expect(json).toMatchObject({ key, status: 'WAITING_CONFIRM', topic });
  });

  it('cancel, then confirm is refused with exit code 4; unknown keys exit 3', async () => {
    const key = uniqueId('cli');
    await client.prepare({ key, topic, body: '{}' });
    const cancel = await rmsg(['cancel', key, '--reason', 'operator says no']);
    expect(cancel).toMatchObject({ code: 0 });
    expect(cancel.stdout).toContain(`cancel: ${key} is now CANCELLED`);
    const confirm = await rmsg(['confirm', key]);
    expect(confirm.code).toBe(4);
    expect(confirm.stderr).toMatch(/INVALID_TRANSITION/);
    expect((await rmsg(['show', uniqueId('missing')], READ_TOKEN)).code).toBe(3);
  });

  it('resend brings a DEAD message back to SENDING', async () => {
    const group = uniqueId('cli-group');
    await client.register({ kind: 'subscription', topic, tagExpression: '*', consumerGroup: group });
    const key = uniqueId('cli');
    await client.send({ key, topic, body: '{}' });
    await eventually(async () => (await client.get(key)).status === 'DEAD', 15_000, 'DEAD');
    const resend = await rmsg(['resend', key]);
    expect(resend.code).toBe(0);
    expect(resend.stdout).toContain(`resend: ${key} is now SENDING`);
  });

  it("confirm and cancel are recorded as the operator's, not the producer's", async () => {
    const [confirmed, cancelled] = [uniqueId('cli-by'), uniqueId('cli-by')];
    for (const key of [confirmed, cancelled]) await client.prepare({ key, topic, body: '{}' });
    expect((await rmsg(['confirm', confirmed])).code).toBe(0);
    expect((await rmsg(['cancel', cancelled])).code).toBe(0);
    const by = (key: string, type: string) =>
      eventually(
        async () => {
          const events = await api.prisma.messageEvent.findMany({ where: { messageKey: key, type } });
          return (events[0]?.detail as { by?: string } | undefined)?.by;
        },
        10_000,
        `${type} event`,
      );
    expect({ confirm: await by(confirmed, 'CONFIRMED'), cancel: await by(cancelled, 'CANCELLED') }).toEqual({
      confirm: 'operator',
      cancel: 'operator',
    });
  });

  it("show, resend, confirm and cancel work for the longest keys; show names each delivery's group", async () => {
    const group = uniqueId('cli-long');
    await client.register({ kind: 'subscription', topic, tagExpression: '*', consumerGroup: group });
    const dead = uniqueId('cli').padEnd(191, ':');
    await client.send({ key: dead, topic, body: '{}' });
    await eventually(async () => (await client.get(dead)).status === 'DEAD', 15_000, 'DEAD');
    const show = await rmsg(['show', dead], READ_TOKEN);
    expect(show.code).toBe(0);
    const deliveries = show.stdout.slice(show.stdout.indexOf('deliveries'), show.stdout.indexOf('\nevents'));
    expect(deliveries).toMatch(new RegExp(`^${group}\\s+DEAD`, 'm'));
    expect(await rmsg(['resend', dead])).toMatchObject({ code: 0 });

    const [confirmed, cancelled] = [uniqueId('cli').padEnd(191, 'c'), uniqueId('cli').padEnd(191, 'x')];
    await client.prepare({ key: confirmed, topic, body: '{}' });
    await client.prepare({ key: cancelled, topic, body: '{}' });
    expect((await rmsg(['confirm', confirmed])).stdout).toContain(`confirm: ${confirmed} is now SENDING`);
    expect((await rmsg(['cancel', cancelled])).stdout).toContain(`cancel: ${cancelled} is now CANCELLED`);
  });

  it('refuses a key no URL reaches before calling the API (usage, exit 2)', async () => {
    for (const key of ['..', 'a/b']) {
      const r = await rmsg(['show', key], READ_TOKEN);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/key must not/);
    }
  });

  it('stats prints counts; bad usage, bad input and a bad token have their own exit codes', async () => {
    const stats = await rmsg(['stats'], READ_TOKEN);
    expect(stats.code).toBe(0);
    expect(stats.stdout).toMatch(/messages: \d+/);
    expect(JSON.parse((await rmsg(['stats', '--json'], READ_TOKEN)).stdout).messages.byStatus).toHaveProperty(
      'FINISHED',
    );
    expect((await rmsg(['show'])).code).toBe(2);
    expect((await rmsg(['list', '--bogus'])).code).toBe(2);
    const badLimit = await rmsg(['list', '--limit', '0'], READ_TOKEN);
    expect(badLimit.code).toBe(2);
    expect(badLimit.stderr).toMatch(/limit/);
    expect((await rmsg(['list'], 'wrong-token-wrong-token')).code).toBe(5);
    expect((await rmsg(['resend', 'x'], READ_TOKEN)).code).toBe(5);
    expect((await rmsg(['nonsense'])).code).toBe(2);
  });

  it('token create|list|revoke: a producer token is shown once, acts only for its group, and stops when revoked', async () => {
    const group = uniqueId('cli-shop');
    const created = await rmsg(['token', 'create', '--role', 'producer', '--group', group, '--label', 'cli test']);
    expect(created.code).toBe(0);
    const [line, token] = created.stdout.trim().split('\n');
    expect(line).toMatch(
      new RegExp(`^token (tok_[0-9a-f]{16}) \\(producer of ${group}\\) created; it is shown only now:$`),
    );
    const id = line?.split(' ')[1] as string;
    expect(token).toMatch(/^rmsg_[\w-]{43}$/);

    const list = await rmsg(['token', 'list']);
    expect(list.stdout).toMatch(new RegExp(`${id}\\s+producer\\s+${group}\\s+cli test`));
    expect(list.stdout).not.toContain(token);

    // Its own message it may read; another group's, and operator work, not.
    const own = uniqueId('cli-own');
    await api.call('POST', '/v1/messages', { body: { key: own, topic, body: '{}', producerGroup: group } });
    await eventually(
      async () => (await api.prisma.message.findUnique({ where: { key: own } })) ?? undefined,
      10_000,
      'own',
    );
    expect((await rmsg(['show', own], token)).code).toBe(0);
    const foreign = uniqueId('cli-foreign');
    await client.prepare({ key: foreign, topic, body: '{}' });
    await eventually(
      async () => (await api.prisma.message.findUnique({ where: { key: foreign } })) ?? undefined,
      10_000,
      'foreign',
    );
    const refused = await rmsg(['show', foreign], token);
    expect(refused.code).toBe(5);
    expect(refused.stderr).toMatch(/PRODUCER_RIGHT_REQUIRED/);
    expect((await rmsg(['token', 'list'], token)).stderr).toMatch(/OPERATOR_RIGHT_REQUIRED/);

    expect(await rmsg(['token', 'revoke', id])).toMatchObject({ code: 0, stdout: `token ${id} revoked\n` });
    const after = await rmsg(['show', own], token);
    expect(after.code).toBe(5);
    expect(after.stderr).toMatch(/UNAUTHORIZED/);
    expect((await rmsg(['token', 'create', '--role', 'consumer'])).stderr).toMatch(
      /group is required for a consumer token/,
    );
  });
});

describe('rmsg behind a proxy that answers with its own pages', () => {
  let proxy: http.Server;
  let proxyUrl: string;
  beforeAll(async () => {
    proxy = http.createServer((req, res) => {
      const status = req.url?.startsWith('/v1/messages/') ? 404 : 502;
      res.writeHead(status, { 'content-type': 'text/html' }).end(`<html><body>${status}</body></html>`);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => proxy.close(resolve)));

  it('reports an answer that is not JSON by its HTTP status and exits by it (404: 3, 502: 1)', async () => {
    const show = await runRmsg(proxyUrl, ['show', 'some-key'], READ_TOKEN);
    expect({ code: show.code, stderr: show.stderr }).toEqual({
      code: 3,
      stderr: 'rmsg show: HTTP_ERROR: HTTP 404: <html><body>404</body></html>\n',
    });
    const stats = await runRmsg(proxyUrl, ['stats'], READ_TOKEN);
    expect({ code: stats.code, stderr: stats.stderr }).toEqual({
      code: 1,
      stderr: 'rmsg stats: HTTP_ERROR: HTTP 502: <html><body>502</body></html>\n',
    });
  });
});
