import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { logger } from '../../src/logger.js';
import { createTopicCatalog } from '../../src/rocketmq/topic-catalog.js';

/** A name server that answers by request code: `{ code, body }` (a JSON body), as RocketMQ's remoting does. */
async function nameServer(answers: Record<number, { code: number; body?: unknown }>) {
  const server = net.createServer((socket) => {
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 8 || buffered.length < 4 + buffered.readInt32BE(0)) return;
      const headerLength = buffered.readInt32BE(4) & 0xffffff;
      const request = JSON.parse(buffered.subarray(8, 8 + headerLength).toString()) as { code: number; opaque: number };
      const answer = answers[request.code] ?? { code: 1 };
      const header = Buffer.from(JSON.stringify({ code: answer.code, flag: 1, opaque: request.opaque }));
      const body = Buffer.from(answer.body === undefined ? '' : JSON.stringify(answer.body));
      const frame = Buffer.alloc(8);
      frame.writeInt32BE(4 + header.length + body.length, 0);
      frame.writeInt32BE(header.length, 4);
      socket.end(Buffer.concat([frame, header, body]));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return { address: `127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const NO_ROUTE = { code: 17 };
let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

describe('topic lookups while the brokers are away', () => {
  it('no route and no broker registered: unreachable (the prepare is accepted), not missing', async () => {
    const ns = await nameServer({ 105: NO_ROUTE, 106: { code: 0, body: { brokerAddrTable: {} } } });
    close = ns.close;
    expect(await createTopicCatalog({ namesrv: ns.address, log: logger }).lookup('orders')).toBe('unreachable');
  });

  it('no route while a broker is registered: missing', async () => {
    const brokers = { brokerAddrTable: { 'broker-a': { brokerAddrs: { '0': '127.0.0.1:1' } } } };
    const ns = await nameServer({ 105: NO_ROUTE, 106: { code: 0, body: brokers } });
    close = ns.close;
    expect(await createTopicCatalog({ namesrv: ns.address, log: logger }).lookup('orders')).toBe('missing');
  });

  it('a route whose master broker is gone: unreachable', async () => {
    const ns = await nameServer({ 105: { code: 0, body: { brokerDatas: [{ brokerAddrs: {} }] } } });
    close = ns.close;
    expect(await createTopicCatalog({ namesrv: ns.address, log: logger }).lookup('orders')).toBe('unreachable');
  });
});
