import type { Logger } from '../logger.js';

/**
 * rocketmq-client-nodejs writes to ~/logs with its own logger unless given one; route its chatter
 * into pino at debug level (warnings and errors stay visible).
 */
export function rocketmqClientLogger(log: Logger) {
  const child = log.child({ component: 'rocketmq-client' });
  return {
    info: (...args: unknown[]) => child.debug({ args }, 'rocketmq'),
    debug: (...args: unknown[]) => child.trace({ args }, 'rocketmq'),
    warn: (...args: unknown[]) => child.warn({ args }, 'rocketmq'),
    error: (...args: unknown[]) => child.error({ args }, 'rocketmq'),
    close: () => undefined,
  };
}
