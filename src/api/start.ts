import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { createPrisma } from '../db/prisma.js';
import type { Logger } from '../logger.js';
import { connectTemporalClient } from '../temporal/connection.js';
import { createApi } from './app.js';
import { authDisabled } from './auth.js';

export interface RunningApi {
  app: FastifyInstance;
  /** e.g. http://127.0.0.1:8090 */
  url: string;
  /** Stops accepting, finishes in-flight requests, closes its connections. Idempotent. */
  close(): Promise<void>;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** An API without tokens would let anyone who can reach it confirm, cancel and resend messages. */
export function assertSafeBinding(api: Config['api']): void {
  if (authDisabled(api) && !isLoopback(api.host)) {
    throw new Error(
      `refusing to serve the API on ${api.host} without a token: set RMSG_API_WRITE_TOKEN (and ` +
        'RMSG_API_READ_TOKEN for read-only callers), or bind to 127.0.0.1 with RMSG_API_HOST',
    );
  }
}

/** The API process: its own database pool and Temporal client, listening on `api.host:api.port`. */
export async function startApi(config: Config, log: Logger): Promise<RunningApi> {
  assertSafeBinding(config.api);
  const prisma = createPrisma(config.databaseUrl, { connectionLimit: 5, tls: config.databaseTls });
  const temporal = await connectTemporalClient(config.temporal, config.codec);
  const app = createApi({ config, prisma, temporal, log });
  const release = async () => {
    await prisma.$disconnect();
    await temporal.connection.close();
  };
  let url: string;
  try {
    url = await app.listen({ host: config.api.host, port: config.api.port });
  } catch (err) {
    await release();
    throw err;
  }
  log.info({ url, auth: authDisabled(config.api) ? 'off (loopback only)' : 'bearer' }, 'HTTP API listening');
  let closing: Promise<void> | undefined;
  return {
    app,
    url,
    close() {
      closing ??= app.close().then(release);
      return closing;
    },
  };
}

/** Resolves on the first SIGINT or SIGTERM. */
export function untilSignal(log: Logger): Promise<void> {
  return new Promise((resolve) => {
    const on = (signal: string) => {
      log.info({ signal }, 'shutting down the HTTP API');
      resolve();
    };
    process.once('SIGINT', on);
    process.once('SIGTERM', on);
  });
}
