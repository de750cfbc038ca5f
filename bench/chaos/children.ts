import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, createWriteStream, openSync } from 'node:fs';
import type { ChildReport, OrderCommand } from './protocol.js';

const REPO_ROOT = new URL('../../', import.meta.url).pathname;
const START_TIMEOUT_MS = 180_000;

/** Every process a run started must die with it, however the run ends. */
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export type ChildState = 'starting' | 'up' | 'down';

/**
 * One process the chaos run starts, kills with SIGKILL and restarts: the service worker (ready when it
 * logs `readyLine`) or an order/stock process (ready when it reports over IPC). Commands sent while it
 * starts wait for it; an exit nobody asked for is counted and the process restarted.
 */
export class ChaosChild {
  state: ChildState = 'down';
  unexpectedExits = 0;
  private child?: ChildProcess;
  private pending: OrderCommand[] = [];
  private expectingExit = false;
  /** Killed or stopped by the run: not to be started again by a retry. */
  private stopped = false;

  constructor(
    readonly name: string,
    private readonly args: string[],
    private readonly env: NodeJS.ProcessEnv,
    private readonly logFile: string,
    private readonly onReport: (report: ChildReport, from: ChaosChild) => void,
    private readonly opts: { readyLine?: string; restartOnExit?: boolean } = {},
  ) {}

  async start(): Promise<void> {
    this.state = 'starting';
    this.expectingExit = false;
    this.stopped = false;
    const log = openSync(this.logFile, 'a');
    const child = spawn(process.execPath, ['--import', 'tsx', ...this.args], {
      cwd: REPO_ROOT,
      env: this.env,
      stdio: this.opts.readyLine ? ['ignore', 'pipe', log] : ['ignore', log, log, 'ipc'],
    });
    closeSync(log);
    this.child = child;
    live.add(child);
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.name} not ready after ${START_TIMEOUT_MS} ms`)),
        START_TIMEOUT_MS,
      );
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited while starting (${signal ?? code}); log ${this.logFile}`));
      });
      if (this.opts.readyLine) {
        const line = this.opts.readyLine;
        child.stdout?.pipe(createWriteStream(this.logFile, { flags: 'a' }));
        child.stdout?.on('data', (chunk: Buffer) => {
          if (this.state === 'starting' && chunk.toString().includes(line)) done();
        });
      }
      child.on('message', (report: ChildReport) => {
        if (report.type === 'ready') done();
        else this.onReport(report, this);
      });
    });
    child.once('exit', () => {
      live.delete(child);
      if (this.child !== child) return;
      const wasUp = this.state === 'up'; // an exit while starting is start()'s failure, retried by its caller
      this.state = 'down';
      if (!wasUp || this.expectingExit || !this.opts.restartOnExit) return;
      this.unexpectedExits++;
      setTimeout(() => void this.startRetrying(), 2000);
    });
    await ready;
    this.state = 'up';
    for (const command of this.pending.splice(0)) child.send(command);
  }

  /** Starts it, again every 2 s while it fails to start (say, Temporal is down), for up to 10 minutes. */
  async startRetrying(): Promise<void> {
    const deadline = Date.now() + 600_000;
    for (;;) {
      try {
        return await this.start();
      } catch (err) {
        // Not `expectingExit`: a crashing batch's last order may have been queued while it failed to start.
        if (this.stopped || Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
  }

  /** Sends a command now, or once the process is (re)started: requests wait while the service is down. */
  send(command: OrderCommand): void {
    if (this.state === 'up') this.child?.send(command);
    else this.pending.push(command);
  }

  /** The process will die by itself (it was told to crash): not an unexpected exit; it gets no more commands. */
  expectExit(): void {
    this.expectingExit = true;
    this.state = 'down';
  }

  exited(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => child.once('exit', () => resolve()));
  }

  async kill(): Promise<void> {
    this.expectingExit = true;
    this.stopped = true;
    const exited = this.exited();
    this.child?.kill('SIGKILL');
    await exited;
    this.state = 'down';
  }

  /** Graceful stop at the end of a run (SIGTERM; SIGKILL after 15 s). */
  async stop(): Promise<void> {
    this.expectingExit = true;
    this.stopped = true;
    const exited = this.exited();
    this.child?.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
    this.state = 'down';
  }
}
