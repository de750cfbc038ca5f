import type { Client } from '@temporalio/client';

/** Temporal history event types (temporal.api.enums.v1.EventType) that Temporal Cloud bills. */
const EventType = {
  started: 1,
  workflowTaskCompleted: 7,
  activityScheduled: 10,
  activityStarted: 11,
  timerStarted: 17,
  markerRecorded: 25,
  signaled: 26,
  continuedAsNew: 28,
  upsertSearchAttributes: 40,
  updateAccepted: 41,
} as const;

export interface HistoryCost {
  events: number;
  actions: number;
  breakdown: Record<string, number>;
}

/**
 * Counts billable actions in a workflow's real history, the way Temporal Cloud counts them: start,
 * signals, updates, timers, activity attempts, search-attribute upserts, continue-as-new, and local
 * activities once per workflow task that ran any.
 */
export async function historyCost(client: Client, workflowId: string): Promise<HistoryCost> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const breakdown: Record<string, number> = {};
  const add = (k: string) => {
    breakdown[k] = (breakdown[k] ?? 0) + 1;
  };
  let markerTaskSeen = false;
  for (const e of history.events ?? []) {
    const type = Number(e.eventType);
    if (type === EventType.workflowTaskCompleted) markerTaskSeen = false;
    else if (type === EventType.started) add('start');
    else if (type === EventType.signaled) add('signal');
    else if (type === EventType.updateAccepted) add('update');
    else if (type === EventType.timerStarted) add('timer');
    else if (type === EventType.activityScheduled) add('activity');
    else if (type === EventType.activityStarted && Number(e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1)
      add('activityRetry');
    else if (type === EventType.upsertSearchAttributes) add('searchAttributes');
    else if (type === EventType.continuedAsNew) add('continueAsNew');
    else if (type === EventType.markerRecorded && !markerTaskSeen) {
      markerTaskSeen = true;
      add('localActivities');
    }
  }
  const actions = Object.values(breakdown).reduce((s, n) => s + n, 0);
  return { events: history.events?.length ?? 0, actions, breakdown };
}
