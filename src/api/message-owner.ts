import type { Client } from '@temporalio/client';
import { getMessageState } from '../client/message-ops.js';
import type { PrismaClient } from '../db/prisma.js';
import { MessageNotFoundError } from '../errors.js';

/**
 * The producer group a message belongs to, for the producer right on routes by key: the projection
 * (or the archive), else the workflow itself (the projection may not exist yet); undefined when there
 * is no such message. Only asked for producer callers, never on an operator's path.
 */
export function messageOwner({ prisma, temporal }: { prisma: PrismaClient; temporal: Client }) {
  return async (key: string): Promise<string | undefined> => {
    const select = { producerGroup: true } as const;
    const row =
      (await prisma.message.findUnique({ where: { key }, select })) ??
      (await prisma.messageArchive.findUnique({ where: { key }, select }));
    if (row) return row.producerGroup;
    try {
      return (await getMessageState(temporal, key)).producerGroup;
    } catch (err) {
      if (err instanceof MessageNotFoundError) return undefined;
      throw err;
    }
  };
}

/** The owner of an existing message: a 404 for a key that is no message. */
export function existingMessageOwner(deps: { prisma: PrismaClient; temporal: Client }) {
  const owner = messageOwner(deps);
  return async ({ params }: { params: { key: string } }): Promise<string> => {
    const group = await owner(params.key);
    if (group === undefined) throw new MessageNotFoundError(params.key);
    return group;
  };
}
