import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReliableMessageClient } from '../../src/client/index.js';
import { registry } from '../../src/metrics.js';
import { ensureAuditSchedule } from '../../src/worker/schedules.js';
import { AUDIT_WORKFLOW, type AuditReport } from '../../workflows/operator-definitions.js';
import { type ApiHarness, READ_TOKEN, startApiHarness } from '../api/harness.js';
import { connectTestClient, eventually } from '../helpers/service.js';
import { freshTopic, testConfig, uniqueId } from '../helpers/stack.js';

// The audit looks at messages created since this file started, so rows of earlier test files (whose
// workers are gone) stay out of it. No settle time: every message here is quiet before an audit.
let api: ApiHarness;
let client: ReliableMessageClient;
let topic: string;
let group: string;
const since = new Date().toISOString();

beforeAll(async () => {
  api = await startApiHarness(
    { maxSends: 1, resendAfterMs: 300 },
    { operators: { ...testConfig.operators, auditSettleMs: 0 } },
  );
  client = await connectTestClient(api.config, uniqueId('audit-producer'));
  topic = await freshTopic('audit');
  group = uniqueId('audit-group');
  await client.register({ kind: 'subscription', topic, tagExpression: '*', consumerGroup: group });
});

afterAll(async () => {
  await client?.close();
  await api?.stop();
});

const audit = async (repair = false) => {
  const r = await api.call('POST', '/v1/audits', {
    body: { from: since, to: new Date(Date.now() + 1000).toISOString(), repair },
  });
  expect(r.status, r.text).toBe(200);
  return r.body;
};
const counts = (report: { findings: Record<string, { count: number }> }) =>
  Object.fromEntries(Object.entries(report.findings).map(([k, f]) => [k, f.count]));
// An ack is refused (409, not published yet) until the workflow has published: under load that can be
// after send() returns.
const consumed = (key: string) =>
  eventually(
    async () =>
      (await api.call('POST', `/v1/messages/${key}/acks`, { body: { group, status: 'CONSUMED' } })).status === 200,
    20_000,
    `${key} to take the CONSUMED ack`,
  );
const projected = (key: string, status: string) =>
  eventually(
    async () => (await api.prisma.message.findUnique({ where: { key } }))?.status === status,
    20_000,
    `${key} ${status} in the projection`,
  );

describe('audit and repair', () => {
  it('reports nothing when projections and workflows agree', async () => {
    const finished = uniqueId('audit-fin');
    await client.send({ key: finished, topic, body: 'done' });
    await consumed(finished);
    const waiting = uniqueId('audit-wait');
    await client.prepare({ key: waiting, topic, body: 'waiting' });
    const dead = uniqueId('audit-dead');
    await client.send({ key: dead, topic, body: 'dead' });
    await Promise.all([
      projected(finished, 'FINISHED'),
      projected(waiting, 'WAITING_CONFIRM'),
      projected(dead, 'DEAD'),
    ]);

    const report = await audit();
    expect(report.checked).toBeGreaterThanOrEqual(6); // 3 rows and 3 workflows
    expect(counts(report)).toEqual({ stuck: 0, diverged: 0, workflowWithoutRow: 0, rowWithoutWorkflow: 0 });
    const runs = await api.call('GET', '/v1/audits?limit=1', { token: READ_TOKEN });
    expect(runs.body[0]).toMatchObject({ id: report.id, triggeredBy: 'operator', repair: false });

    // The console's overview counts the same messages in its last hour.
    const ov = await api.call('GET', '/v1/overview', { token: READ_TOKEN });
    expect(ov.status).toBe(200);
    expect(ov.body.lastHour).toHaveLength(60);
    const sum = (k: 'confirmed' | 'consumed') =>
      ov.body.lastHour.reduce((n: number, m: Record<string, number>) => n + (m[k] ?? 0), 0);
    expect(sum('confirmed')).toBeGreaterThanOrEqual(2); // finished and dead
    expect(sum('consumed')).toBeGreaterThanOrEqual(1);
    expect(ov.body.lastHour.some((m: { maxLatencyMs: number | null }) => m.maxLatencyMs !== null)).toBe(true);
    expect(ov.body.deadByReason.UNCONSUMED).toBeGreaterThanOrEqual(1);
    expect(ov.body.oldestWaitingConfirm).not.toBeNull();
    expect((await api.call('GET', '/v1/whoami', { token: READ_TOKEN })).body.access).toBe('read');
    expect((await api.call('GET', '/v1/whoami')).body.access).toBe('write');
  });

  it('finds a restored (older) row, a lost row, a row without workflow and a stuck one; repairs the safe ones', async () => {
    // A FINISHED message whose row goes back to what it said while SENDING (a restore from backup).
    const restored = uniqueId('audit-restored');
    await client.send({ key: restored, topic, body: 'x' });
    await consumed(restored);
    await projected(restored, 'FINISHED');
    await api.prisma.message.update({
      where: { key: restored },
      data: { status: 'SENDING', version: 2, finishedAt: null },
    });
    await api.prisma.delivery.updateMany({ where: { messageKey: restored }, data: { status: 'PENDING' } });

    // A waiting message whose row was lost.
    const lost = uniqueId('audit-lost');
    await client.prepare({ key: lost, topic, tag: 'lost', body: 'the body survives in history' });
    await projected(lost, 'WAITING_CONFIRM');
    await api.prisma.message.delete({ where: { key: lost } });

    // A row whose workflow Temporal never had.
    const orphan = uniqueId('audit-orphan');
    await api.prisma.message.create({
      data: {
        key: orphan,
        topic,
        body: '',
        producerGroup: 'nobody',
        status: 'SENDING',
        options: api.config.timings,
        workflowId: `rmsg:${orphan}`,
      },
    });

    // A waiting message whose row agrees with its workflow but has not changed for two hours,
    // while its first check-back was due after one.
    const stuck = uniqueId('audit-stuck');
    await client.prepare({ key: stuck, topic, body: 'x', timings: { checkBackAfterMs: 3_600_000 } });
    await projected(stuck, 'WAITING_CONFIRM');
    await api.prisma.$executeRaw`UPDATE rm_message SET updated_at = NOW(3) - INTERVAL 2 HOUR WHERE \`key\` = ${stuck}`;

    const report = await audit(false);
    expect(counts(report)).toEqual({ stuck: 1, diverged: 1, workflowWithoutRow: 1, rowWithoutWorkflow: 1 });
    expect(report.findings.diverged.sample).toEqual([restored]);
    expect(report.findings.workflowWithoutRow.sample).toEqual([lost]);
    expect(report.findings.rowWithoutWorkflow.sample).toEqual([orphan]);
    expect(report.findings.stuck.sample).toEqual([stuck]);
    expect(await api.prisma.message.findUnique({ where: { key: lost } })).toBeNull(); // no repair asked

    const repaired = await audit(true);
    expect(repaired.findings.diverged).toMatchObject({ count: 1, repaired: 1 });
    expect(repaired.findings.workflowWithoutRow).toMatchObject({ count: 1, repaired: 1 });
    expect(repaired.findings.rowWithoutWorkflow).toMatchObject({ count: 1, repaired: 0 });
    expect(repaired.findings.stuck).toMatchObject({ count: 1, repaired: 0 });

    const fixed = await api.prisma.message.findUnique({ where: { key: restored }, include: { deliveries: true } });
    expect(fixed).toMatchObject({ status: 'FINISHED', deliveries: [expect.objectContaining({ status: 'CONSUMED' })] });
    expect(fixed?.finishedAt).not.toBeNull();
    const recreated = await api.prisma.message.findUnique({ where: { key: lost } });
    expect(recreated).toMatchObject({ status: 'WAITING_CONFIRM', tag: 'lost', body: 'the body survives in history' });

    const metrics = await registry.metrics();
    expect(metrics).toMatch(/rmsg_audit_findings\{kind="diverged"\} 0/);
    expect(metrics).toMatch(/rmsg_audit_findings\{kind="rowWithoutWorkflow"\} 1/);
    expect(metrics).toMatch(/rmsg_audit_repairs_total\{kind="workflowWithoutRow"\} 1/);

    // What is left after the repair: the two the audit must not touch.
    await api.prisma.message.delete({ where: { key: orphan } });
    await client.cancel(stuck);
    await projected(stuck, 'CANCELLED');
    expect(counts(await audit())).toEqual({ stuck: 0, diverged: 0, workflowWithoutRow: 0, rowWithoutWorkflow: 0 });
  });

  it('runs daily from the rmsg-audit Schedule beside housekeeping (here triggered, as from Temporal UI)', async () => {
    const scheduleId = uniqueId('rmsg-audit-test');
    // The window reaches back to this file's start only (earlier runs' workflows have no worker now).
    const windowMs = Date.now() - Date.parse(since);
    const config = {
      ...api.config,
      operators: { ...api.config.operators, auditWindowMs: windowMs, auditCron: '45 2 * * *' },
    };
    try {
      expect(await ensureAuditSchedule(api.temporal, config, { scheduleId })).toEqual({ scheduleId, created: true });
      expect(await ensureAuditSchedule(api.temporal, config, { scheduleId })).toEqual({ scheduleId, created: false });
      const handle = api.temporal.schedule.getHandle(scheduleId);
      const d = await handle.describe();
      expect(d.action).toMatchObject({
        workflowType: AUDIT_WORKFLOW,
        args: [{ windowMs, repair: false, triggeredBy: 'schedule' }],
      });
      expect([d.info.nextActionTimes[0]?.getUTCHours(), d.info.nextActionTimes[0]?.getUTCMinutes()]).toEqual([2, 45]);
      await handle.trigger();
      const workflowId = await eventually(
        async () => (await handle.describe()).info.recentActions[0]?.action.workflow.workflowId,
        20_000,
        'the triggered audit to start',
      );
      const report: AuditReport = await api.temporal.workflow.getHandle(workflowId).result();
      expect(report.triggeredBy).toBe('schedule');
      expect(Date.parse(report.to) - Date.parse(report.from)).toBe(windowMs);
      expect(counts(report)).toEqual({ stuck: 0, diverged: 0, workflowWithoutRow: 0, rowWithoutWorkflow: 0 });
    } finally {
      await api.temporal.schedule
        .getHandle(scheduleId)
        .delete()
        .catch(() => undefined);
    }
  });

  it('refuses a bad range naming the field, and needs the write token', async () => {
    const bad = await api.call('POST', '/v1/audits', { body: { from: 'now' } });
    expect(bad).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED', field: 'from' } });
    const reversed = await api.call('POST', '/v1/audits', {
      body: { from: new Date().toISOString(), to: new Date(Date.now() - 1000).toISOString() },
    });
    expect(reversed).toMatchObject({ status: 400, body: { field: 'from' } });
    const reader = await api.call('POST', '/v1/audits', { body: {}, token: READ_TOKEN });
    expect(reader.status).toBe(403);
  });
});
