import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const STACK_SCRIPT = new URL('../../scripts/stack.sh', import.meta.url).pathname;

/** The stack components a fault can kill (names of scripts/stack.sh). */
export type StackComponent = 'mariadb' | 'temporal' | 'proxy' | 'namesrv' | 'rocketmq';

/**
 * A second instance of the local stack (scripts/stack.sh with a port offset and its own state dir):
 * fault injection kills and restarts its processes, never the shared default instance's.
 */
export class IsolatedStack {
  constructor(
    readonly portOffset: number,
    readonly stateDir: string,
  ) {
    if (!Number.isInteger(portOffset) || portOffset <= 0)
      throw new Error(`portOffset must be a positive integer (the default instance uses 0), got ${portOffset}`);
  }

  up(): Promise<string> {
    return this.run('up');
  }

  down(): Promise<string> {
    return this.run('down');
  }

  /** SIGKILL, as a crash would. */
  kill(component: StackComponent): Promise<string> {
    return this.run('kill', component);
  }

  start(component: StackComponent): Promise<string> {
    return this.run('start', component);
  }

  /** RMSG_DATABASE_URL, TEMPORAL_ADDRESS, ROCKETMQ_* of this instance, as `stack.sh env` prints them. */
  async env(): Promise<Record<string, string>> {
    const out = await this.run('env');
    const env: Record<string, string> = {};
    for (const line of out.split('\n')) {
      const m = /^export (\w+)=(.*)$/.exec(line.trim());
      if (m?.[1] && m[2] !== undefined) env[m[1]] = m[2];
    }
    return env;
  }

  private async run(...args: string[]): Promise<string> {
    const { stdout } = await exec('bash', [STACK_SCRIPT, ...args], {
      env: { ...process.env, RMSG_STACK_PORT_OFFSET: String(this.portOffset), RMSG_STACK_STATE: this.stateDir },
      maxBuffer: 4 * 1024 * 1024,
    });
    return stdout;
  }
}
