import type { Client, ScheduleHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { connectTemporalClient } from '../../src/temporal/connection.js';
import { ensureSchedules } from '../../src/worker/schedules.js';
import { HOUSEKEEPING_WORKFLOW, type HousekeepingResult } from '../../workflows/definitions.js';
import { eventually, startTestService, type TestService } from '../helpers/service.js';
import { testConfig, uniqueId } from '../helpers/stack.js';

// A schedule of this test's own: the real `rmsg-housekeeping` must keep pointing at the real service.
const scheduleId = uniqueId('rmsg-housekeeping-test');
let service: TestService;
let client: Client;
let handle: ScheduleHandle;

beforeAll(async () => {
  service = await startTestService();
  client = await connectTemporalClient(testConfig.temporal, testConfig.codec);
  handle = client.schedule.getHandle(scheduleId);
});

afterAll(async () => {
  await handle?.delete().catch(() => undefined);
  await client?.connection.close();
  await service?.stop();
});

describe('housekeeping config', () => {
  it('reads retention, batch size and cron from the environment, with defaults', () => {
    expect(loadConfig({}).housekeeping).toEqual({
      retentionMs: 7 * 24 * 60 * 60_000,
      archiveBatch: 500,
      cron: '0 3 * * *',
    });
    const env = { RMSG_RETENTION_MS: '3600000', RMSG_ARCHIVE_BATCH: '50', RMSG_HOUSEKEEPING_CRON: '15 2 * * 0' };
    expect(loadConfig(env).housekeeping).toEqual({ retentionMs: 3_600_000, archiveBatch: 50, cron: '15 2 * * 0' });
    expect(() => loadConfig({ RMSG_ARCHIVE_BATCH: '0' })).toThrow(/housekeeping.archiveBatch/);
  });
});

describe('ensureSchedules', () => {
  it('creates the schedule once, then updates it in place', async () => {
    expect(await ensureSchedules(client, service.config, { scheduleId })).toEqual({ scheduleId, created: true });
    expect(await ensureSchedules(client, service.config, { scheduleId })).toEqual({ scheduleId, created: false });

    const d = await handle.describe();
    expect(d.action).toMatchObject({
      type: 'startWorkflow',
      workflowType: HOUSEKEEPING_WORKFLOW,
      taskQueue: service.config.temporal.taskQueue,
      args: [{ retentionMs: 7 * 24 * 60 * 60_000, batchSize: 500 }],
    });
    expect(d.policies.overlap).toBe('SKIP');
    // '0 3 * * *' (UTC): the next run is at 03:00.
    const next = d.info.nextActionTimes[0];
    expect([next?.getUTCHours(), next?.getUTCMinutes()]).toEqual([3, 0]);

    // A changed config (a restart with other env vars) updates the same schedule. (A long retention:
    // this schedule's runs archive in the shared test database.)
    const retentionMs = 30 * 24 * 60 * 60_000;
    const changed = { ...service.config, housekeeping: { retentionMs, archiveBatch: 10, cron: '30 4 * * *' } };
    expect(await ensureSchedules(client, changed, { scheduleId })).toEqual({ scheduleId, created: false });
    const after = await handle.describe();
    expect(after.action.args).toEqual([{ retentionMs, batchSize: 10 }]);
    expect([after.info.nextActionTimes[0]?.getUTCHours(), after.info.nextActionTimes[0]?.getUTCMinutes()]).toEqual([
      4, 30,
    ]);
  });

  it('runs a housekeeping workflow to completion when triggered (as from Temporal UI)', async () => {
    await ensureSchedules(client, service.config, { scheduleId });
    await handle.trigger();
    const started = await eventually(
      async () => (await handle.describe()).info.recentActions[0]?.action.workflow.workflowId,
      20_000,
      'the triggered run to start',
    );
    const result: HousekeepingResult = await client.workflow.getHandle(started).result();
    expect(result.batches).toBeGreaterThanOrEqual(1);
    expect(result.cutoff).toBeLessThanOrEqual(Date.now() - 7 * 24 * 60 * 60_000);
  });
});
