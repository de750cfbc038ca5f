import { Context } from '@temporalio/activity';
import type { DependencyGate } from '../src/dependency-gate.js';
import type { ActivityDeps } from './deps.js';

export interface CheckBackRoute {
  /** An HTTP check-back URL (producers and consumers in any language). */
  url?: string;
  /** The task queue where the group's SDK serves its check-back activity. */
  taskQueue?: string;
}

export interface HttpCheckBackInput {
  url: string;
  key: string;
  kind: 'producer' | 'consumer';
  group: string;
}

export function createCheckBackActivities({ prisma, mysql }: Pick<ActivityDeps, 'prisma'> & { mysql: DependencyGate }) {
  return {
    /** Where a group's check-back is served, or null when it has none. */
    async findCheckBack({
      kind,
      group,
    }: {
      kind: 'producer' | 'consumer';
      group: string;
    }): Promise<CheckBackRoute | null> {
      const select = { checkBackUrl: true, checkBackTaskQueue: true } as const;
      const row = await mysql.call<{ checkBackUrl: string | null; checkBackTaskQueue: string | null } | null>(() =>
        kind === 'producer'
          ? prisma.producer.findUnique({ where: { producerGroup: group }, select })
          : prisma.consumer.findUnique({ where: { consumerGroup: group }, select }),
      );
      if (row?.checkBackUrl) return { url: row.checkBackUrl };
      if (row?.checkBackTaskQueue) return { taskQueue: row.checkBackTaskQueue };
      return null;
    },

    /**
     * POSTs `{ key, group, kind }` to the URL; the answer is the `status` field of a JSON body (or the
     * plain-text body). The workflow decides whether it is well-formed; anything else is an error.
     */
    async httpCheckBack({ url, key, kind, group }: HttpCheckBackInput): Promise<string> {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ key, group, kind }),
        signal: AbortSignal.timeout(Context.current().info.startToCloseTimeoutMs),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`check-back ${url} answered HTTP ${res.status}: ${text.slice(0, 200)}`);
      return checkBackAnswerOf(text);
    },
  };
}

/** Longer answers are cut: the activity's result is stored in the workflow's history. */
const MAX_ANSWER_CHARS = 256;

/**
 * The answer as the check-back sent it: a JSON object's `status` when it is a string, else the trimmed
 * text. Never coerced (`{"status":["COMMIT"]}` is not COMMIT): the workflow accepts only an exact
 * COMMIT, ROLLBACK or UNKNOWN and treats anything else as malformed (asked again later).
 */
export function checkBackAnswerOf(text: string): string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return text.trim().slice(0, MAX_ANSWER_CHARS);
  }
  if (typeof json === 'object' && json !== null && 'status' in json && typeof json.status === 'string')
    return json.status.slice(0, MAX_ANSWER_CHARS);
  return text.trim().slice(0, MAX_ANSWER_CHARS);
}
