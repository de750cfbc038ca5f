import type { Pool, PoolConnection } from 'mysql2/promise';
import type { Logger } from '../logger.js';
import { claimConsumption, claimStillOpen } from './idempotency.js';
import type { ConsumeContext, ConsumedMessage, MessageHandler } from './options.js';

/** A handler the consumer stopped waiting for: it ran past its timeout, or `stop()`'s deadline passed. */
export class HandlerAbortedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HandlerAbortedError';
  }
}

/**
 * The handler's transaction ended before the SDK's COMMIT: a deadlock it caught rolled it back, or it
 * committed or rolled back itself. Not a consumption; the redelivery's claim tells what landed.
 */
export class HandlerTransactionEndedError extends Error {
  constructor(key: string) {
    super(
      `the handler's transaction for message ${key} ended before its commit (a deadlock the handler caught, ` +
        'or its own commit or rollback); let transaction errors through and leave the commit to the consumer',
    );
    this.name = 'HandlerTransactionEndedError';
  }
}

/**
 * Runs the handler, inside the idempotency transaction when there is one, for at most `timeoutMs`
 * or until `stopping` aborts. Then its signal is aborted and this throws without waiting for it: a
 * hung handler must neither renew its message's lease forever nor keep its transaction open, so its
 * connection is killed (the server rolls the transaction back) and never returns to the pool.
 */
export async function runHandler(opts: {
  handler: MessageHandler;
  message: ConsumedMessage;
  ctx: Omit<ConsumeContext, 'signal' | 'conn'>;
  pool?: Pool;
  timeoutMs: number;
  stopping: AbortSignal;
  log: Logger;
}): Promise<void> {
  const { handler, message, ctx, pool, log } = opts;
  const abort = new AbortController();
  const onStop = () => abort.abort(new HandlerAbortedError('handler aborted: the consumer is stopping'));
  opts.stopping.addEventListener('abort', onStop, { once: true });
  const timer = setTimeout(
    () => abort.abort(new HandlerAbortedError(`handler timed out after ${opts.timeoutMs} ms`)),
    opts.timeoutMs,
  );
  const aborted = new Promise<never>((_, reject) =>
    abort.signal.addEventListener('abort', () => reject(abort.signal.reason), { once: true }),
  );
  aborted.catch(() => undefined);
  if (opts.stopping.aborted) onStop();
  const signal = abort.signal;
  try {
    if (signal.aborted) throw signal.reason; // received while stopping: not started at all
    if (!pool) {
      await Promise.race([handler(message, { ...ctx, signal }), aborted]);
      return;
    }
    const connecting = pool.getConnection();
    const conn = await Promise.race([connecting, aborted]).catch((err: unknown) => {
      // A connection that comes too late goes back to the pool unused.
      connecting.then(
        (c) => c.release(),
        () => undefined,
      );
      throw err;
    });
    let work: Promise<void> | undefined;
    try {
      // The COMMIT is bounded with the handler: one that never answers (a half-open socket) is given up
      // too, and whether it landed, the redelivery's claim tells.
      work = (async () => {
        await conn.beginTransaction();
        if (await claimConsumption(conn, message.key, ctx.group)) {
          await handler(message, { ...ctx, conn, signal });
          if (!(await claimStillOpen(conn, message.key, ctx.group)))
            throw new HandlerTransactionEndedError(message.key);
        } else log.info({ attempt: ctx.attempt }, 'already consumed by this group; handler not run again');
        await conn.commit();
      })();
      await Promise.race([work, aborted]);
      conn.release();
    } catch (err) {
      if (signal.aborted) {
        work?.catch(() => undefined); // it may still settle, long after; nothing waits for it
        discard(pool, conn, log);
      } else {
        await conn.rollback().catch(() => undefined);
        conn.release();
      }
      throw err;
    }
  } finally {
    clearTimeout(timer);
    opts.stopping.removeEventListener('abort', onStop);
  }
}

/**
 * Ends a connection whose handler is still using it: KILL stops a statement in flight (a lock wait,
 * say) and rolls the transaction back; destroy() keeps the connection out of the pool.
 */
function discard(pool: Pool, conn: PoolConnection, log: Logger): void {
  const threadId = conn.threadId;
  conn.destroy();
  if (threadId === null) return;
  pool.query('KILL ?', [threadId]).catch((err: { code?: string }) => {
    // Already gone with the closed socket: nothing left to roll back.
    if (err.code !== 'ER_NO_SUCH_THREAD') log.warn({ err, threadId }, 'could not kill the aborted handler connection');
  });
}
