import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { createApi } from '../../src/api/app.js';
import type { Config } from '../../src/config.js';
import { createPrisma, type PrismaClient } from '../../src/db/prisma.js';
import { connectTemporalClient } from '../../src/temporal/connection.js';
import type { Timings } from '../../workflows/definitions.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { testLogger } from '../helpers/stack.js';

export const READ_TOKEN = 'test-read-token-0123456789';
export const WRITE_TOKEN = 'test-write-token-0123456789';

// biome-ignore lint/suspicious/noExplicitAny: tests read JSON answers loosely and assert on them
type Json = any;

export interface ApiResponse<T = Json> {
  status: number;
  headers: Record<string, unknown>;
  body: T;
  text: string;
}

export interface ApiHarness {
  service: TestService;
  config: Config;
  prisma: PrismaClient;
  temporal: Client;
  app: FastifyInstance;
  /** Calls the API in-process (fastify inject), with the write token unless told otherwise. */
  call<T = Json>(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    url: string,
    opts?: { body?: unknown; token?: string | null; headers?: Record<string, string> },
  ): Promise<ApiResponse<T>>;
  stop(): Promise<void>;
}

/** The real service worker plus the API over it, with both tokens configured. */
export async function startApiHarness(
  timings: Partial<Timings> = {},
  overrides: Partial<Config> = {},
): Promise<ApiHarness> {
  const service = await startTestService(timings, { config: overrides });
  const config: Config = {
    ...service.config,
    api: { ...service.config.api, host: '127.0.0.1', port: 0, readToken: READ_TOKEN, writeToken: WRITE_TOKEN },
  };
  const prisma = createPrisma(config.databaseUrl, { connectionLimit: 3 });
  const temporal = await connectTemporalClient(config.temporal, config.codec);
  const app = createApi({ config, prisma, temporal, log: testLogger });
  await app.ready();
  return {
    service,
    config,
    prisma,
    temporal,
    app,
    async call(method, url, opts = {}) {
      const token = opts.token === undefined ? WRITE_TOKEN : opts.token;
      const res = await app.inject({
        method,
        url,
        payload:
          opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body),
        headers: {
          ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(token === null ? {} : { authorization: `Bearer ${token}` }),
          ...opts.headers,
        },
      });
      let body: unknown;
      try {
        body = res.json();
      } catch {
        body = undefined;
      }
      return { status: res.statusCode, headers: res.headers, body: body as never, text: res.body };
    },
    async stop() {
      await app.close();
      await temporal.connection.close();
      await prisma.$disconnect();
      await service.stop();
    },
  };
}

export const enc = encodeURIComponent;
