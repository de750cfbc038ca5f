import type { z } from 'zod';
import type { Delivery, Message, MessageArchive, MessageEvent } from '../db/prisma.js';
import type { deliveryView, eventView, messageDetailView, messageSummaryView } from './schemas/messages.js';

/**
 * Projection rows as the API shows them: no database ids (they mean nothing outside rm_*), dates as
 * ISO strings, the stored timings under `timings`.
 */

const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

type MessageRow = Omit<Message, 'body'> & { deliveries: Delivery[] };

export function messageSummary(m: MessageRow): z.output<typeof messageSummaryView> {
  return {
    key: m.key,
    topic: m.topic,
    tag: m.tag,
    properties: (m.properties as Record<string, string> | null) ?? null,
    producerGroup: m.producerGroup,
    status: m.status,
    deadReason: m.deadReason,
    cancelReason: m.cancelReason,
    orderKey: m.orderKey,
    delayMs: m.delayMs,
    timings: m.options as Record<string, number>,
    sendCount: m.sendCount,
    checkBackCount: m.checkBackCount,
    lastError: m.lastError,
    workflowId: m.workflowId,
    version: m.version,
    createdAt: m.createdAt.toISOString(),
    updatedAt: m.updatedAt.toISOString(),
    confirmedAt: iso(m.confirmedAt),
    publishedAt: iso(m.publishedAt),
    finishedAt: iso(m.finishedAt),
    cancelledAt: iso(m.cancelledAt),
    deadAt: iso(m.deadAt),
    deliveries: m.deliveries.map(deliveryOf),
  };
}

export function messageDetail(
  m: Message & { deliveries: Delivery[]; events: MessageEvent[] },
): z.output<typeof messageDetailView> {
  return {
    ...messageSummary(m),
    body: m.body,
    events: m.events.map((e) => ({
      seq: e.seq,
      type: e.type,
      consumerGroup: e.consumerGroup,
      detail: e.detail,
      createdAt: e.createdAt.toISOString(),
    })),
    archivedAt: null,
  };
}

/**
 * An archived message: housekeeping folded its deliveries and events into JSON (dates already ISO
 * strings, ids dropped), so they are shown as stored.
 */
export function archivedDetail(a: MessageArchive): z.output<typeof messageDetailView> {
  const { deliveries, events, archivedAt, ...m } = a;
  return {
    ...messageSummary({ ...m, deliveries: [] }),
    deliveries: deliveries as z.output<typeof deliveryView>[],
    body: m.body,
    events: events as z.output<typeof eventView>[],
    archivedAt: archivedAt.toISOString(),
  };
}

function deliveryOf(d: Delivery): z.output<typeof deliveryView> {
  return {
    consumerGroup: d.consumerGroup,
    status: d.status,
    sendCount: d.sendCount,
    receiveCount: d.receiveCount,
    lastError: d.lastError,
    lastSentAt: iso(d.lastSentAt),
    receivedAt: iso(d.receivedAt),
    consumedAt: iso(d.consumedAt),
    deadAt: iso(d.deadAt),
  };
}
