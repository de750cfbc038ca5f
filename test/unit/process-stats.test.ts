import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ProcessSampler } from '../../bench/process-stats.js';

describe('bench process sampler', () => {
  it('counts the wake-ups of a process: each wait its main thread sleeps through is one at least', async () => {
    const sampler = new ProcessSampler([{ name: 'self', pid: process.pid }]);
    sampler.begin();
    for (let i = 0; i < 20; i += 1) await sleep(5);
    const [self] = sampler.end();
    expect(self?.name).toBe('self');
    expect(self?.wakeups).toBeGreaterThanOrEqual(20);
    expect(self?.cpuSeconds).toBeGreaterThanOrEqual(0);
    expect(self?.peakRssMb).toBeGreaterThan(0);
  });

  it('counts none for a process that only sleeps in one wait', async () => {
    const child = spawn('sleep', ['5']);
    try {
      await sleep(200);
      const sampler = new ProcessSampler([{ name: 'sleeper', pid: child.pid ?? 0 }]);
      sampler.begin();
      await sleep(300);
      const [sleeper] = sampler.end();
      expect(sleeper?.wakeups).toBe(0);
    } finally {
      child.kill();
    }
  });
});
