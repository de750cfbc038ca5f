import { describe, expect, it } from 'vitest';
import { type DeliverReport, ReportOutbox } from '../../src/consumer/report-outbox.js';
import type { Ack } from '../../workflows/definitions.js';
import { LogCapture } from '../consumer/helpers.js';

/** A service that is reachable or not, as the test says; records what reached it. */
function service() {
  const received: [string, Ack][] = [];
  let up = true;
  const deliver: DeliverReport = async (key, ack) => {
    await new Promise((r) => setTimeout(r, 5));
    if (!up) throw new Error('UNAVAILABLE: connect ECONNREFUSED');
    received.push([key, ack]);
    return 'delivered';
  };
  return {
    received,
    deliver,
    set up(value: boolean) {
      up = value;
    },
  };
}

const g = 'stock';
const consumed: Ack = { group: g, status: 'CONSUMED' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ReportOutbox', () => {
  it('keeps reports through an outage, sends them when the service is back, and logs the outage once each way', async () => {
    const logs = new LogCapture();
    const svc = service();
    const outbox = new ReportOutbox(svc.deliver, g, 100, logs.log);
    svc.up = false;
    for (let i = 0; i < 5; i++) outbox.send(`k${i}`, consumed);
    await sleep(2000); // several retries
    expect(svc.received).toEqual([]);
    svc.up = true;
    expect(await outbox.close(Date.now() + 10_000)).toBe(0);
    expect(svc.received.map(([k]) => k).sort()).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
    expect(
      logs.lines.filter((l) => l.msg === 'reports to the service are failing; keeping them and retrying'),
    ).toHaveLength(1);
    expect(logs.lines.filter((l) => l.msg === 'reports to the service are delivered again')).toHaveLength(1);
  });

  it('holds at most maxPending reports: the oldest are dropped, with one warning', async () => {
    const logs = new LogCapture();
    const svc = service();
    const outbox = new ReportOutbox(svc.deliver, g, 3, logs.log);
    svc.up = false;
    for (let i = 0; i < 10; i++) outbox.send(`k${i}`, consumed);
    await sleep(50);
    svc.up = true;
    await outbox.close(Date.now() + 10_000);
    expect(svc.received.map(([k]) => k)).toEqual(['k7', 'k8', 'k9']);
    expect(
      logs.lines.filter((l) => l.msg === 'too many reports pending; dropping the oldest from memory'),
    ).toHaveLength(1);
  });

  it('folds reports for one key sent during an outage into one, and close() says what is left', async () => {
    const logs = new LogCapture();
    const svc = service();
    const outbox = new ReportOutbox(svc.deliver, g, 100, logs.log);
    svc.up = false;
    outbox.send('k', { group: g, status: 'RECEIVED' });
    outbox.send('k', { group: g, status: 'FAILED', error: 'busy' });
    outbox.send('k', consumed);
    outbox.send('other', consumed);
    expect(await outbox.close(Date.now() + 300)).toBe(2);
    expect(
      logs.lines.filter((l) => l.msg === 'reports left pending at stop are lost; the service resends those messages'),
    ).toHaveLength(1);
    expect(svc.received).toEqual([]);
  });
});
