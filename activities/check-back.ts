import { Context } from '@temporalio/activity';
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

export function createCheckBackActivities({ prisma }: Pick<ActivityDeps, 'prisma'>) {
  return {
    /** Where a group's check-back is served, or null when it has none. */
    async findCheckBack({ kind, group }: { kind: 'producer' | 'consumer'; group: string }): Promise<CheckBackRoute | null> {
      const row =
        kind === 'producer'
          ? await prisma.producer.findUnique({ where: { producerGroup: group } })
          : await prisma.consumer.findUnique({ where: { consumerGroup: group } });
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
      try {
        const json = JSON.parse(text) as { status?: unknown };
        return String(json.status);
      } catch {
        return text.trim();
      }
    },
  };
}
