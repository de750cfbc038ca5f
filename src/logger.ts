import { pino } from 'pino';
import { loadLogLevel } from './sdk-config.js';

/** Structured logs (pino). Child loggers carry `messageKey` wherever one is known. */
export const logger = pino({
  level: loadLogLevel(),
  base: { service: 'reliable-message' },
});
export type Logger = typeof logger;
