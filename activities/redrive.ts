import { setMaxListeners } from 'node:events';
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { cancelMessage, confirmMessage, resendMessage } from '../src/client/message-ops.js';
import { InvalidTransitionError, MessageNotFoundError } from '../src/errors.js';
import { redriveMessagesTotal } from '../src/metrics.js';
import { selectPage } from '../src/operators/selection.js';
import { withAbortSignalOf } from '../src/temporal/connection.js';
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

/** Actions in flight at once, at most (fewer at low rates, so the spacing stays even). */
const MAX_IN_FLIGHT = 10;
/** How often a page writes its progress so far (besides once at its end). */
const PROGRESS_EVERY_MS = 1000;

const act: Record<RedriveAction, (temporal: Client, key: string) => Promise<unknown>> = {
  resend: (temporal, key) => resendMessage(temporal, key),
  confirm: (temporal, key) => confirmMessage(temporal, key, 'operator'),
  cancel: (temporal, key) => cancelMessage(temporal, key, 'operator', 'cancelled by an operator redrive'),
};

export function createRedriveActivities({ prisma, temporal, log }: Pick<ActivityDeps, 'prisma' | 'temporal' | 'log'>) {
  return {
    /**
     * Applies the redrive's action to the next page of its selection, at most `ratePerSecond` actions a
     * second, writing the redrive's progress every second and at the end (absolute totals, so a retry
     * cannot count twice). The selection is read afresh, so messages already moved on (redriven, or
     * resolved meanwhile) no longer match. Heartbeats carry the last key done: a retried attempt does
     * not act on it again.
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
      // A few actions at a time, each group starting no sooner than the rate allows: a sequential loop
      // would be held to one update's round trip (~100 ms on a busy worker), whatever the rate.
      const inFlight = Math.max(1, Math.min(MAX_IN_FLIGHT, Math.floor(input.ratePerSecond / 5)));
      const groupMs = (1000 * inFlight) / input.ratePerSecond;
      setMaxListeners(inFlight + 10, ctx.cancellationSignal);
      let lastError: string | undefined;
      let nextAt = Date.now();
      let shownAt = Date.now();
      // Absolute totals: a retried attempt writes the same numbers again, never adds them twice.
      const sum = () => ({
        done: input.before.done + page.done,
        skipped: input.before.skipped + page.skipped,
        failed: input.before.failed + page.failed,
      });
      const apply = async (key: string) => {
        try {
          // Abortable: on worker shutdown the update would wait for this very worker's workflow tasks.
          await withAbortSignalOf(temporal, ctx.cancellationSignal, () => act[input.action](temporal, key));
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
            log.warn({ messageKey: key, redriveId: input.redriveId, err }, 'redrive: action failed');
          }
        }
      };
      for (let i = 0; i < selection.matches.length; i += inFlight) {
        const wait = nextAt - Date.now();
        if (wait > 0) await ctx.sleep(wait);
        nextAt = Math.max(nextAt, Date.now() - groupMs) + groupMs;
        const group = selection.matches.slice(i, i + inFlight);
        await Promise.all(group.map((m) => apply(m.key)));
        const last = group.at(-1);
        if (!last) continue;
        ctx.heartbeat({ cursorId: last.id.toString(), page } satisfies PageProgress);
        if (Date.now() - shownAt >= PROGRESS_EVERY_MS) {
          shownAt = Date.now();
          await prisma.redrive.update({ where: { id: input.redriveId }, data: { ...sum(), cursorId: last.id } });
        }
      }
      // The next page starts no sooner than the rate allows, so the limit holds across pages too.
      const rest = nextAt - Date.now();
      if (rest > 0 && selection.cursorId !== null && selection.matches.length > 0) await ctx.sleep(rest);
      const cursorId = selection.cursorId === null ? null : selection.cursorId.toString();
      const totals = sum();
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
