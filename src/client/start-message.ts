import { type Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import {
  RELIABLE_MESSAGE_WORKFLOW,
  type ReliableMessageInput,
  SearchAttribute,
  workflowIdForKey,
} from '../../workflows/definitions.js';
import { checkTopicFit, type MessageSpecInput } from '../message-spec.js';
import type { TopicCatalog } from '../rocketmq/topic-catalog.js';

export interface PrepareResult {
  key: string;
  workflowId: string;
  /** False when a message with this key already existed (nothing new was registered). */
  created: boolean;
}

/**
 * Starts a message's workflow (prepare, or send when `confirmed`) from a validated spec, once its
 * topic is known to take it (checkTopicFit). Used by the SDK and by the HTTP API, which takes the
 * producer group from the request. While RocketMQ cannot be asked, messages are accepted unchecked:
 * a producer's business must not stop because the broker is briefly away.
 */
export async function startMessage(
  temporal: Client,
  taskQueue: string,
  spec: MessageSpecInput,
  confirmed: boolean,
  topics: TopicCatalog,
): Promise<PrepareResult> {
  const { timings, ...message } = spec;
  const topic = await topics.lookup(message.topic);
  if (topic !== 'unreachable') checkTopicFit(message, topic);
  const workflowId = workflowIdForKey(message.key);
  const args: ReliableMessageInput = { message, confirmed, timings };
  try {
    await temporal.workflow.start(RELIABLE_MESSAGE_WORKFLOW, {
      taskQueue,
      workflowId,
      args: [args],
      // A second start with the key fails (running or closed): one key, one message, ever.
      workflowIdConflictPolicy: 'FAIL',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      typedSearchAttributes: [
        { key: SearchAttribute.messageKey, value: message.key },
        { key: SearchAttribute.topic, value: message.topic },
        { key: SearchAttribute.status, value: confirmed ? 'SENDING' : 'WAITING_CONFIRM' },
        { key: SearchAttribute.producerGroup, value: message.producerGroup },
      ],
      staticSummary: `${message.topic}${message.tag ? `:${message.tag}` : ''} · ${message.key} · from ${message.producerGroup}`,
    });
    return { key: message.key, workflowId, created: true };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { key: message.key, workflowId, created: false };
    throw err;
  }
}
