import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('npm run bench (smoke, no timing assertions)', () => {
  it('runs end to end on the real stack and writes a result with every part measured', async () => {
    const { stdout } = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        'bench/run.ts',
        '--messages',
        '20',
        '--concurrency',
        '8',
        '--sample',
        '3',
        '--mode',
        'prepare-confirm',
      ],
      { timeout: 170_000, env: { ...process.env, RMSG_LOG_LEVEL: 'warn' } },
    );
    const file = /written (\S+\.json)/.exec(stdout)?.[1];
    expect(file).toBeDefined();
    const result = JSON.parse(readFileSync(file as string, 'utf8'));
    expect(result.finished).toBe(20);
    expect(result.latencyMs.confirmToFinished.count).toBe(20);
    expect(result.temporal.sampled).toBe(3);
    expect(result.temporal.actionsPerMessage).toBeGreaterThan(0);
    expect(result.processes.map((p: { name: string }) => p.name)).toEqual([
      'worker',
      'bench',
      'temporal',
      'proxy',
      'namesrv',
      'mariadb',
    ]);
    expect(result.cpuMsPerMessage.outsideTemporal).toBeGreaterThan(0);
    expect(result.duplicateHandlerRuns).toBe(0);
    // The floor has a message's shape: start, a signal after its first task, a timer, complete.
    expect(result.floor).toMatchObject({ workflows: 20, historyEventsPerWorkflow: 11, actionsPerWorkflow: 3 });
    expect(Object.keys(result.floor.ratios)).toEqual(['throughput', 'temporalCpu', 'historyEvents', 'actions']);
    expect(result.baselines.map((b: { messages: number }) => b.messages)).toEqual([20, 20]);
  }, 180_000);
});
