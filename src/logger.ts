import { pino } from 'pino';

/** Structured logs (pino). Child loggers carry `messageKey` wherever one is known. */
export const logger = pino({
  level: process.env.RMSG_LOG_LEVEL ?? 'info',
  base: { service: 'reliable-message' },
});
export type Logger = typeof logger;
