import { describe, expect, it } from 'vitest';
import { DependencyDownError, DependencyGate } from '../../src/dependency-gate.js';
import { logger } from '../../src/logger.js';
import { registry } from '../../src/metrics.js';

function recordingLog() {
  const lines: string[] = [];
  const log = logger.child({});
  const record = (level: string) =>
    ((_obj: unknown, msg: string) => {
      lines.push(`${level} ${msg}`);
    }) as unknown as typeof log.info;
  log.error = record('error');
  log.info = record('info');
  return { log, lines };
}

const up = async (name: string) =>
  (await registry.getSingleMetric('rmsg_dependency_up')?.get())?.values.find((v) => v.labels.dependency === name)
    ?.value;

describe('DependencyGate', () => {
  it('logs once when a dependency goes down and once when it is back, failing fast in between', async () => {
    const { log, lines } = recordingLog();
    const gate = new DependencyGate('broker-a', log, { callTimeoutMs: 200, probeIntervalMs: 50 });
    let calls = 0;
    const failing = () => {
      calls += 1;
      return Promise.reject(new Error('ECONNREFUSED'));
    };
    await expect(gate.call(failing)).rejects.toThrow('ECONNREFUSED');
    for (let i = 0; i < 5; i++) await expect(gate.call(failing)).rejects.toBeInstanceOf(DependencyDownError);
    expect(calls).toBe(1); // the others never reached the dependency
    expect(gate.isDown).toBe(true);
    expect(await up('broker-a')).toBe(0);
    await new Promise((r) => setTimeout(r, 60));
    await expect(gate.call(failing)).rejects.toThrow('ECONNREFUSED'); // the probe
    expect(calls).toBe(2);
    await new Promise((r) => setTimeout(r, 60));
    expect(await gate.call(() => Promise.resolve('ok'))).toBe('ok');
    expect(gate.isDown).toBe(false);
    expect(await up('broker-a')).toBe(1);
    expect(lines).toEqual([
      'error broker-a is unreachable; messages that need it wait and retry',
      'info broker-a is reachable again',
    ]);
  });

  it('a call that hangs counts as a failure after the timeout; an answer the dependency gave does not', async () => {
    const { log } = recordingLog();
    const gate = new DependencyGate('db-a', log, { callTimeoutMs: 30, probeIntervalMs: 1000 });
    await expect(
      gate.call(
        () => Promise.reject(new Error('duplicate key')),
        () => false,
      ),
    ).rejects.toThrow('duplicate');
    expect(gate.isDown).toBe(false);
    await expect(gate.call(() => new Promise(() => undefined))).rejects.toThrow('db-a did not answer within 30 ms');
    expect(gate.isDown).toBe(true);
  });
});
