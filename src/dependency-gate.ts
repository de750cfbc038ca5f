import type { Logger } from './logger.js';
import { dependencyUp } from './metrics.js';

export class DependencyDownError extends Error {
  constructor(dependency: string, lastError: string) {
    super(`${dependency} is down (last error: ${lastError}); waiting to try again`);
    this.name = 'DependencyDownError';
  }
}

export interface GateOptions {
  /** A call that takes longer counts as failed (the dependency hangs). */
  callTimeoutMs: number;
  /** While down, one call per this interval goes through to find out whether it is back. */
  probeIntervalMs: number;
}

/**
 * One dependency (MySQL, RocketMQ) as the worker's activities see it. It logs once when the dependency goes
 * down and once when it is back, not once per message and retry; keeps `rmsg_dependency_up`; bounds every
 * call; and while the dependency is down lets one call through per probe interval and fails the others at
 * once, so the workflows waiting on it back off on their timers instead of holding worker slots.
 */
export class DependencyGate {
  private downSince: number | undefined;
  private lastError = '';
  private nextProbeAt = 0;

  constructor(
    readonly name: string,
    private readonly log: Logger,
    private readonly opts: GateOptions,
  ) {
    dependencyUp.set({ dependency: name }, 1);
  }

  get isDown(): boolean {
    return this.downSince !== undefined;
  }

  /**
   * Runs `call` through the gate. `isOutage` tells failures of the dependency (which open the gate) from
   * answers it gave (a refusal, a constraint), which pass through and leave it up.
   */
  async call<T>(call: () => Promise<T>, isOutage: (err: unknown) => boolean = () => true): Promise<T> {
    if (this.downSince !== undefined) {
      const now = Date.now();
      if (now < this.nextProbeAt) throw new DependencyDownError(this.name, this.lastError);
      this.nextProbeAt = now + this.opts.probeIntervalMs;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${this.name} did not answer within ${this.opts.callTimeoutMs} ms`)),
        this.opts.callTimeoutMs,
      );
    });
    try {
      const result = await Promise.race([call(), timeout]);
      this.up();
      return result;
    } catch (err) {
      if (isOutage(err)) this.down(err);
      else this.up();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  private down(err: unknown): void {
    this.lastError = (err instanceof Error ? err.message : String(err)).slice(0, 300);
    this.nextProbeAt = Date.now() + this.opts.probeIntervalMs;
    if (this.downSince !== undefined) return;
    this.downSince = Date.now();
    dependencyUp.set({ dependency: this.name }, 0);
    this.log.error(
      { dependency: this.name, err: this.lastError },
      `${this.name} is unreachable; messages that need it wait and retry`,
    );
  }

  private up(): void {
    if (this.downSince === undefined) return;
    this.log.info({ dependency: this.name, downForMs: Date.now() - this.downSince }, `${this.name} is reachable again`);
    this.downSince = undefined;
    dependencyUp.set({ dependency: this.name }, 1);
  }
}
