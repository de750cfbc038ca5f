import { setMaxListeners } from 'node:events';
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { cancelMessage, confirmMessage, resendMessage } from '../src/client/message-ops.js';
import { InvalidTransitionError, MessageNotFoundError } from '../src/errors.js';
import { redriveMessagesTotal } from '../src/metrics.js';
import { selectPage } from '../src/operators/selection.js';
import type {
  RedriveAction,
  RedrivePageInput,
  RedrivePageResult,
  RedriveTotals,
} from '../workflows/operator-definitions.js';
import type { ActivityDeps } from './deps.js';

/** What an activity attempt has got through, so a retry carries on after it instead of repeating it. */
interface PageProgress {
  cursorId: string;
  page: RedriveTotals;
}

const act: Record<RedriveAction, (temporal: Client, key: string) => Promise<unknown>> = {
  resend: (temporal, key) => resendMessage(temporal, key),
  confirm: (temporal, key) => confirmMessage(temporal, key, 'operator'),
  cancel: (temporal, key) => cancelMessage(temporal, key, 'operator', 'cancelled by an operator redrive'),
};

export function createRedriveActivities({ prisma, temporal, log }: Pick<ActivityDeps, 'prisma' | 'temporal' | 'log'>) {
  return {
    /**
     * Applies the redrive's action to the next page of its selection, at most `ratePerSecond` actions a
     * second, then writes the redrive's progress (absolute totals, so a retry cannot count twice). The
     * selection is read afresh, so messages already moved on (redriven, or resolved meanwhile) no
     * longer match. Heartbeats carry the last key done: a retried attempt does not act on it again.
     */
    async redrivePage(input: RedrivePageInput & { before: RedriveTotals }): Promise<RedrivePageResult> {
      const ctx = Context.current();
      const resumed = ctx.info.heartbeatDetails as PageProgress | undefined;
      const page: RedriveTotals = resumed?.page ?? { done: 0, skipped: 0, failed: 0 };
      const afterId = BigInt(resumed?.cursorId ?? input.cursorId);
      const selection = await selectPage(prisma, input.filter, {
        afterId,
        maxId: BigInt(input.maxMessageId),
        scan: input.pageSize,
      });
      // Each abortable call listens on the signal for its duration; a page's worth is expected.
      setMaxListeners(input.pageSize + 10, ctx.cancellationSignal);
      const spacingMs = 1000 / input.ratePerSecond;
      let lastError: string | undefined;
      let nextAt = Date.now();
      for (const m of selection.matches) {
        const wait = nextAt - Date.now();
        if (wait > 0) await ctx.sleep(wait);
        nextAt = Math.max(nextAt, Date.now() - spacingMs) + spacingMs;
        try {
          // Abortable: on worker shutdown the update would wait for this very worker's workflow tasks.
          await temporal.withAbortSignal(ctx.cancellationSignal, () => act[input.action](temporal, m.key));
          page.done += 1;
          redriveMessagesTotal.inc({ action: input.action, outcome: 'done' });
        } catch (err) {
          if (ctx.cancellationSignal.aborted) throw err; // retried later, from the last heartbeat
          if (err instanceof InvalidTransitionError || err instanceof MessageNotFoundError) {
            page.skipped += 1;
            redriveMessagesTotal.inc({ action: input.action, outcome: 'skipped' });
          } else {
            page.failed += 1;
            lastError = err instanceof Error ? err.message : String(err);
            redriveMessagesTotal.inc({ action: input.action, outcome: 'failed' });
            log.warn({ messageKey: m.key, redriveId: input.redriveId, err }, 'redrive: action failed');
          }
        }
        ctx.heartbeat({ cursorId: m.id.toString(), page } satisfies PageProgress);
      }
      // The next page starts no sooner than the rate allows, so the limit holds across pages too.
      const rest = nextAt - Date.now();
      if (rest > 0 && selection.cursorId !== null && selection.matches.length > 0) await ctx.sleep(rest);
      const cursorId = selection.cursorId === null ? null : selection.cursorId.toString();
      const totals = {
        done: input.before.done + page.done,
        skipped: input.before.skipped + page.skipped,
        failed: input.before.failed + page.failed,
      };
      await prisma.redrive.update({
        where: { id: input.redriveId },
        data: {
          ...totals,
          ...(cursorId === null
            ? { status: 'COMPLETED', finishedAt: new Date() }
            : { cursorId: selection.cursorId ?? undefined }),
          ...(lastError ? { lastError } : {}),
        },
      });
      if (cursorId === null) log.info({ redriveId: input.redriveId, ...totals }, 'redrive completed');
      return { ...page, cursorId };
    },
  };
}
