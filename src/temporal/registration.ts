import type { Client } from '@temporalio/client';
import { REGISTER_WORKFLOW, type Registration } from '../../workflows/definitions.js';

/** Records a subscription or a check-back with the service, through its worker (no database access needed). */
export async function registerWithService(
  client: Client,
  serviceTaskQueue: string,
  registration: Registration,
): Promise<void> {
  const id =
    registration.kind === 'subscription' ? `${registration.topic}:${registration.consumerGroup}` : registration.group;
  await client.workflow.execute(REGISTER_WORKFLOW, {
    taskQueue: serviceTaskQueue,
    workflowId: `rmsg-register:${registration.kind}:${id}:${Date.now()}`,
    args: [registration],
  });
}
