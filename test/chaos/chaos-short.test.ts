import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IsolatedStack } from '../../bench/chaos/isolated-stack.js';
import { runChaos } from '../../bench/chaos/scenario.js';
import { formatVerdict } from '../../bench/chaos/verdict.js';

/**
 * The short form of `npm run chaos`: every fault in sequence (the service worker, the stock consumer and
 * the order process SIGKILLed; the RocketMQ proxy, MariaDB and Temporal killed and restarted), small N,
 * short outages. Its own isolated stack instance, so the rest of the suite and the shared stack never see it.
 */
const stack = new IsolatedStack(
  Number(process.env.RMSG_CHAOS_TEST_PORT_OFFSET ?? 20200),
  process.env.RMSG_CHAOS_TEST_STATE ?? '/tmp/rmsg-chaos-test-state',
);

describe('chaos, short form', () => {
  beforeAll(async () => {
    await stack.up();
  }, 300_000);

  afterAll(async () => {
    await stack.down();
  }, 120_000);

  it('every fault in sequence: nothing lost, duplicated or stuck, stock exact', async () => {
    const verdict = await runChaos({
      stack,
      fault: 'all',
      orders: 80,
      rate: 2,
      outageMs: 3000,
      crashPct: 10,
      rollbackPct: 10,
      failOncePct: 20,
      crashBatch: 4,
      faultAtPct: 5,
      faultGapMs: 1000,
      settleTimeoutMs: 120_000,
      logDir: '/tmp/rmsg-chaos-logs',
      print: () => undefined,
    });
    console.log(formatVerdict(verdict));
    expect(verdict.faults.map((f) => f.fault)).toEqual([
      'producer',
      'worker',
      'consumer',
      'rocketmq',
      'mysql',
      'temporal',
    ]);
    expect(verdict.problems).toEqual([]);
    expect(verdict.committed).toBeGreaterThan(0);
    expect(verdict.effects).toBe(verdict.committed);
    expect(verdict.rolledBack).toBeGreaterThan(0);
    expect(verdict.crashed).toBeGreaterThan(0);
    expect(verdict.ok).toBe(true);
  }, 360_000);
});
