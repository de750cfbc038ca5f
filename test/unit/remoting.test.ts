import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { checkHealth } from '../../src/api/health.js';
import { createPrisma } from '../../src/db/prisma.js';
import { remotingCall } from '../../src/rocketmq/remoting.js';
import { connectTemporalClient } from '../../src/temporal/connection.js';
import { testConfig } from '../helpers/stack.js';

/** A peer on the remoting port that answers every request with `frame`. */
async function peer(frame: Buffer): Promise<{ address: string; close: () => Promise<void> }> {
  const server = net.createServer((socket) => socket.once('data', () => socket.end(frame)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return { address: `127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

function frameOf(header: string): Buffer {
  const h = Buffer.from(header);
  const frame = Buffer.alloc(8);
  frame.writeInt32BE(4 + h.length, 0);
  frame.writeInt32BE(h.length, 4);
  return Buffer.concat([frame, h]);
}

let closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.map((c) => c()));
  closers = [];
});

describe('remotingCall against a peer that answers garbage', () => {
  it('rejects (no uncaught exception) when the header is not JSON', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    try {
      const p = await peer(frameOf('{not json'));
      closers.push(p.close);
      await expect(remotingCall(p.address, 26, {}, { timeoutMs: 2000 })).rejects.toThrow(
        /remoting call 26 to .* failed: the answer's header is not JSON/,
      );
      await new Promise((r) => setTimeout(r, 50));
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });

  it('rejects a frame whose header length exceeds the frame', async () => {
    const bad = frameOf('{}');
    bad.writeInt32BE(10_000, 4);
    const p = await peer(bad);
    closers.push(p.close);
    await expect(remotingCall(p.address, 26, {}, { timeoutMs: 2000 })).rejects.toThrow(/failed: /);
  });
});

describe('/healthz with a name server that answers garbage', () => {
  it('reports RocketMQ down with the cause, and the process lives on', async () => {
    const p = await peer(frameOf('<html>'));
    closers.push(p.close);
    const prisma = createPrisma(testConfig.databaseUrl, { connectionLimit: 1 });
    const temporal = await connectTemporalClient(testConfig.temporal, testConfig.codec);
    try {
      const config = { ...testConfig, rocketmq: { ...testConfig.rocketmq, namesrv: p.address } };
      const checks = await checkHealth({ config, prisma, temporal });
      expect(checks.rocketmq).toMatchObject({ status: 'down', error: expect.stringMatching(/header is not JSON/) });
      expect(checks.mysql.status).toBe('up');
    } finally {
      await prisma.$disconnect();
      await temporal.connection.close();
    }
  });
});
