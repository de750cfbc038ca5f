import net from 'node:net';
import type { Client } from '@temporalio/client';
import type { Config } from '../config.js';
import type { PrismaClient } from '../db/prisma.js';
import { topicRouted } from '../rocketmq/topics.js';

export interface PartHealth {
  status: 'up' | 'down';
  ms: number;
  error?: string;
}

const TIMEOUT_MS = 2000;

/**
 * Really asks each dependency: Temporal's system info, the RocketMQ name server (a remoting call) and
 * the proxy the publisher uses (a TCP connect), MySQL `SELECT 1`. Each within 2 s, all at once.
 */
export async function checkHealth(deps: {
  config: Config;
  prisma: PrismaClient;
  temporal: Client;
}): Promise<Record<'temporal' | 'rocketmq' | 'mysql', PartHealth>> {
  const { config, prisma, temporal } = deps;
  const [t, r, m] = await Promise.all([
    timed(() => temporal.workflowService.getSystemInfo({})),
    timed(async () => {
      // Any answer proves the name server works; the topic need not exist.
      await topicRouted(config.rocketmq.namesrv, 'TBW102');
      await tcpConnect(config.rocketmq.endpoints.split(';')[0] ?? config.rocketmq.endpoints);
    }),
    timed(() => prisma.$queryRaw`SELECT 1`),
  ]);
  return { temporal: t, rocketmq: r, mysql: m };
}

async function timed(check: () => Promise<unknown>): Promise<PartHealth> {
  const t0 = Date.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
      }),
    ]);
    return { status: 'up', ms: Date.now() - t0 };
  } catch (err) {
    return { status: 'down', ms: Date.now() - t0, error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

function tcpConnect(address: string): Promise<void> {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i);
  const port = Number(address.slice(i + 1));
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, timeout: TIMEOUT_MS });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('timeout', () => socket.destroy(new Error(`connecting to ${address} timed out`)));
    socket.once('error', (err) => reject(new Error(`RocketMQ proxy ${address}: ${err.message}`)));
  });
}
