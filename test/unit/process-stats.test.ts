import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ProcessSampler } from '../../bench/process-stats.js';

describe('bench process sampler', () => {
  it('counts the wake-ups of a process that waits again and again', async () => {
    const sampler = new ProcessSampler([{ name: 'self', pid: process.pid }]);
    sampler.begin();
    // Each wait puts the main thread to sleep until its timer; a loaded machine may skip a few.
    for (let i = 0; i < 20; i += 1) await sleep(20);
    const [self] = sampler.end();
    expect(self?.name).toBe('self');
    expect(self?.wakeups).toBeGreaterThanOrEqual(10);
    expect(self?.cpuSeconds).toBeGreaterThanOrEqual(0);
    expect(self?.peakRssMb).toBeGreaterThan(0);
  });

  it('counts only what happens between begin and end: none for a process asleep throughout', async () => {
    const child = spawn('sleep', ['10']);
    try {
      await once(child, 'spawn');
      await sleep(500);
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
