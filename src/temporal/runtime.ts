import { DefaultLogger, type LogLevel, Runtime } from '@temporalio/worker';
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
      // Check-back workers serve activities only, on purpose: that is not worth a warning.
      const expected = entry.message.startsWith('No workflows registered');
      child[expected ? 'debug' : pinoLevel[entry.level]]({ ...entry.meta }, entry.message);
    }),
  });
}
