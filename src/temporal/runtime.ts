import { DefaultLogger, type LogEntry, type LogLevel, Runtime } from '@temporalio/worker';
import { FailureType } from '../../workflows/definitions.js';
import type { Logger } from '../logger.js';

let installed = false;

/**
 * Routes the Temporal SDK's own logs (worker state changes, core) into pino at warn and above, so
 * they are structured like ours and not printed to stdout. Once per process.
 */
export function installTemporalRuntime(log: Logger, level: LogLevel = 'WARN'): void {
  if (installed) return;
  installed = true;
  const child = log.child({ component: 'temporal-sdk' });
  const pinoLevel = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;
  Runtime.install({
    logger: new DefaultLogger(level, (entry) => {
      child[expected(entry) ? 'debug' : pinoLevel[entry.level]]({ ...entry.meta }, entry.message);
    }),
    // Core's own warnings (a failed workflow task among them) come here too, instead of raw to the console.
    telemetryOptions: { logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} } },
  });
}

/**
 * SDK log entries that say nothing new: check-back workers serve activities only, on purpose; and an
 * attempt failed fast by a DependencyGate that is down was already logged once, when it went down (the
 * SDK would warn once per message and attempt: ~40 000 lines in a 10-minute MySQL outage of 70 messages),
 * be it a local activity's or a final projection write's, which fails its workflow task.
 */
export function expected(entry: Pick<LogEntry, 'message' | 'meta'>): boolean {
  if (entry.message.startsWith('No workflows registered')) return true;
  const error = entry.meta?.error;
  if (entry.message === 'Activity failed') return error instanceof Error && error.name === 'DependencyDownError';
  const failure = String(entry.meta?.failure ?? '');
  return (
    entry.message === 'Failing workflow task' &&
    failure.includes(FailureType.finalWriteFailed) &&
    failure.includes('DependencyDownError')
  );
}
