import type { Pool, PoolConnection } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { HandlerAbortedError, runHandler } from '../../src/consumer/handler-run.js';
import { logger } from '../../src/logger.js';

/** A connection whose COMMIT never answers (a half-open socket after a failover), and what was done to it. */
function connectionWithHungCommit() {
  const done: string[] = [];
  const conn = {
    threadId: null,
    beginTransaction: async () => void done.push('begin'),
    query: async () => [{ affectedRows: 1, serverStatus: 1 }], // in a transaction, as the claim check asks
    commit: () => {
      done.push('commit');
      return new Promise<void>(() => {});
    },
    rollback: async () => void done.push('rollback'),
    release: () => void done.push('release'),
    destroy: () => void done.push('destroy'),
  };
  const pool = { getConnection: async () => conn, query: async () => [{}] };
  return { pool: pool as unknown as Pool, conn: conn as unknown as PoolConnection, done };
}

const message = { key: 'k-1', topic: 't', body: 'b', properties: {}, messageId: 'm-1', round: 1 };

describe('runHandler', () => {
  it('a COMMIT that never answers is aborted at the handler timeout, and its connection discarded', async () => {
    const { pool, done } = connectionWithHungCommit();
    let handled = 0;
    const run = runHandler({
      handler: async () => {
        handled++;
      },
      message,
      ctx: { group: 'g', attempt: 1 },
      pool,
      timeoutMs: 50,
      stopping: new AbortController().signal,
      log: logger,
    });
    await expect(run).rejects.toBeInstanceOf(HandlerAbortedError);
    expect(handled).toBe(1);
    // Never back to the pool: the COMMIT may still land or not; the redelivery's claim tells which.
    expect(done).toEqual(['begin', 'commit', 'destroy']);
  }, 5000);

  it("a COMMIT that never answers is aborted by stop()'s deadline", async () => {
    const { pool, done } = connectionWithHungCommit();
    const stopping = new AbortController();
    const run = runHandler({
      handler: async () => {
        setTimeout(() => stopping.abort(), 20);
      },
      message,
      ctx: { group: 'g', attempt: 1 },
      pool,
      timeoutMs: 60_000,
      stopping: stopping.signal,
      log: logger,
    });
    await expect(run).rejects.toThrow('the consumer is stopping');
    expect(done).toEqual(['begin', 'commit', 'destroy']);
  }, 5000);
});
