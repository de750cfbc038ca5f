import { readdirSync, readFileSync } from 'node:fs';

const CLOCK_TICKS = 100; // USER_HZ on Linux
const PAGE_KB = 4;

export interface ProcessUsage {
  name: string;
  pid: number;
  cpuSeconds: number;
  peakRssMb: number;
  /**
   * How many times the process's threads went to sleep waiting (voluntary context switches, summed over
   * the threads alive at the end): each is a later wake-up. Steadier from run to run than CPU time, it
   * shows whether a change lets the process handle more work per wake-up.
   */
  wakeups: number;
}

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime
}

/** Voluntary context switches of each of the process's threads, by thread id. */
function threadWaits(pid: number): Map<string, number> {
  const waits = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      const match = /^voluntary_ctxt_switches:\s+(\d+)$/m.exec(status);
      if (match) waits.set(tid, Number(match[1]));
    } catch {
      // the thread ended
    }
  }
  return waits;
}

/** Wake-ups since `before` of the threads alive now (a thread started meanwhile counts from zero). */
function wakeupsSince(pid: number, before: Map<string, number>): number {
  let n = 0;
  for (const [tid, waits] of threadWaits(pid)) n += waits - (before.get(tid) ?? 0);
  return n;
}

function rssMb(pid: number): number {
  const statm = readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ');
  return (Number(statm[1]) * PAGE_KB) / 1024;
}

/** Samples CPU time, RSS and wake-ups of named processes from /proc while a run goes on. */
export class ProcessSampler {
  /** Each process's counters when the run began, by pid. */
  private readonly start = new Map<number, { ticks: number; waits: Map<string, number> }>();
  private readonly peak = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly processes: { name: string; pid: number }[]) {}

  begin(): void {
    for (const p of this.processes) {
      this.start.set(p.pid, { ticks: cpuTicks(p.pid), waits: threadWaits(p.pid) });
      this.peak.set(p.pid, rssMb(p.pid));
    }
    this.timer = setInterval(() => this.sample(), 250);
  }

  end(): ProcessUsage[] {
    clearInterval(this.timer);
    this.sample();
    return this.processes.map((p) => {
      const start = this.start.get(p.pid) ?? { ticks: 0, waits: new Map() };
      return {
        name: p.name,
        pid: p.pid,
        cpuSeconds: Math.round(((cpuTicks(p.pid) - start.ticks) / CLOCK_TICKS) * 100) / 100,
        peakRssMb: Math.round(this.peak.get(p.pid) ?? 0),
        wakeups: wakeupsSince(p.pid, start.waits),
      };
    });
  }

  private sample(): void {
    for (const p of this.processes) {
      try {
        this.peak.set(p.pid, Math.max(this.peak.get(p.pid) ?? 0, rssMb(p.pid)));
      } catch {
        // the process ended
      }
    }
  }
}

/**
 * CPU milliseconds a second each process spends with no work given (timers, flushes, polls), sampled
 * for `ms` before a run: RocketMQ's timer wheel flush, for one, costs the proxy process about a tenth
 * of a core whatever the load, which a run at a few dozen messages a second would count per message.
 */
export async function idleCpuMsPerSecond(
  processes: { name: string; pid: number }[],
  ms: number,
): Promise<Record<string, number>> {
  const before = processes.map((p) => cpuTicks(p.pid));
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, ms));
  const seconds = (Date.now() - t0) / 1000;
  return Object.fromEntries(
    processes.map((p, i) => [
      p.name,
      Math.round((((cpuTicks(p.pid) - (before[i] ?? 0)) * 1000) / CLOCK_TICKS / seconds) * 10) / 10,
    ]),
  );
}
