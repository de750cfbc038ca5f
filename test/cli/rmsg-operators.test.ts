import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReliableMessageClient } from '../../src/client/index.js';
import { type ApiHarness, READ_TOKEN, startApiHarness, WRITE_TOKEN } from '../api/harness.js';
import { runRmsg } from '../helpers/rmsg.js';
import { connectTestClient, eventually } from '../helpers/service.js';
import { freshTopic, testConfig, uniqueId } from '../helpers/stack.js';

let api: ApiHarness;
let url: string;
let client: ReliableMessageClient;
const since = new Date().toISOString();

const rmsg = (args: string[], token = WRITE_TOKEN) => runRmsg(url, args, token);

beforeAll(async () => {
  api = await startApiHarness(
    { maxSends: 1, resendAfterMs: 300 },
    { operators: { ...testConfig.operators, auditSettleMs: 0 } },
  );
  url = await api.app.listen({ host: '127.0.0.1', port: 0 });
  client = await connectTestClient(api.config, uniqueId('cli-ops-producer'));
});

afterAll(async () => {
  await client?.close();
  await api?.stop();
});

describe('rmsg triage, redrive, redrives, audit (the real binary)', () => {
  it('shows DEAD groups, dry-runs, redrives with progress, lists the record, and audits', async () => {
    const topic = await freshTopic('cli-ops');
    const group = uniqueId('cli-down');
    await client.register({ kind: 'subscription', topic, tagExpression: '*', consumerGroup: group });
    const keys = Array.from({ length: 5 }, (_, i) => `${uniqueId('cli-rd')}-${i}`);
    await Promise.all(keys.map((key) => client.send({ key, topic, body: '{}' })));
    await eventually(
      async () => (await api.prisma.message.count({ where: { key: { in: keys }, status: 'DEAD' } })) === 5,
      20_000,
      'DEAD',
    );

    const triage = await rmsg(['triage', '--topic', topic], READ_TOKEN);
    expect(triage.code).toBe(0);
    expect(triage.stdout).toMatch(new RegExp(`5\\s+UNCONSUMED\\s+${topic}\\s+${group}\\s+\\(no error\\)`));

    const dry = await rmsg(['redrive', '--topic', topic, '--consumer-group', group, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('dry run: 5 messages match');
    expect(dry.stdout).toContain('nothing changed');

    const redrive = await rmsg(['redrive', '--topic', topic, '--rate', '10', '--by', 'carol']);
    expect(redrive.code, redrive.stderr).toBe(0);
    const lines = redrive.stdout.trim().split('\n');
    expect(lines.at(-1)).toMatch(/^redrive rd-\S+ COMPLETED: 5\/5 done, 0 skipped, 0 failed \(resend at 10\/s\)$/);

    const list = await rmsg(['redrives', '--limit', '3'], READ_TOKEN);
    expect(list.stdout).toMatch(/COMPLETED\s+carol\s+resend\s+5\/5/);

    // Resent once more, they die again (the group is still down); the audit looks once all is quiet.
    await eventually(
      async () =>
        (await api.prisma.message.count({ where: { key: { in: keys }, status: 'DEAD', sendCount: 2 } })) === 5,
      20_000,
      'DEAD again',
    );
    const clean = await rmsg(['audit', '--from', since]);
    expect(clean.code, clean.stdout + clean.stderr).toBe(0);
    expect(clean.stdout).toMatch(/diverged\s+0\s+0/);

    // A row that lost its last writes: exit code 6 until --repair re-syncs it.
    await api.prisma.message.update({ where: { key: keys[0] }, data: { status: 'SENDING', version: 1 } });
    const found = await rmsg(['audit', '--from', since]);
    expect(found.code).toBe(6);
    expect(found.stdout).toMatch(new RegExp(`diverged\\s+1\\s+0\\s+${keys[0]}`));
    expect(found.stderr).toContain('1 findings left (try --repair)');
    expect((await rmsg(['audit', '--from', since, '--repair'])).code).toBe(0);
    expect((await api.prisma.message.findUnique({ where: { key: keys[0] } }))?.status).toBe('DEAD');

    expect((await rmsg(['redrive', '--rate', 'fast'])).code).toBe(2);
    expect((await rmsg(['audit', '--from', 'monday'])).code).toBe(2);
    expect((await rmsg(['redrive', '--dry-run'], READ_TOKEN)).code).toBe(5);
  });
});
