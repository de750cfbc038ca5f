import { createHash } from 'node:crypto';
import {
  type Client,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  type WorkflowStartOptions,
} from '@temporalio/client';
import {
  type MessageSpec,
  type MessageStatus,
  RELIABLE_MESSAGE_WORKFLOW,
  type ReliableMessageInput,
  SearchAttribute,
  STARTER_PROTOCOL,
  workflowIdForKey,
} from '../../workflows/definitions.js';
import { startStatus } from '../../workflows/message-state.js';
import { KeyConflictError } from '../errors.js';
import { checkTopicFit, type MessageSpecInput } from '../message-spec.js';
import type { TopicCatalog } from '../rocketmq/topic-catalog.js';
import { queryState } from './message-ops.js';

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
 * a producer's business must not stop because the broker is briefly away. A repeat with the same
 * spec is idempotent (`created: false`); the same key with another spec is a KeyConflictError.
 */
export async function startMessage(
  temporal: Client,
  taskQueue: string,
  spec: MessageSpecInput,
  confirmed: boolean,
  topics: TopicCatalog,
): Promise<PrepareResult> {
  const { timings, ...message } = spec;
  const workflowId = workflowIdForKey(message.key);
  const hash = specHash(spec);
  const args: ReliableMessageInput = { message, confirmed, timings, specHash: hash, protocol: STARTER_PROTOCOL };
  const topic = await topics.lookup(message.topic);
  try {
    if (topic !== 'unreachable') checkTopicFit(message, topic);
  } catch (misfit) {
    // A message that exists is answered as such (a repeat or a key conflict), whatever its topic is now.
    const earlier = await existingMessage(temporal, message.key, workflowId, hash);
    if (earlier) return earlier;
    throw misfit;
  }
  try {
    await temporal.workflow.start(RELIABLE_MESSAGE_WORKFLOW, {
      taskQueue,
      workflowId,
      args: [args],
      // A second start with the key fails (running or closed): one key, one message, ever.
      workflowIdConflictPolicy: 'FAIL',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      ...shownAs(message, startStatus(confirmed)),
    });
    return { key: message.key, workflowId, created: true };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    // Gone between the refused start and now (past retention): nothing to compare with.
    return (
      (await existingMessage(temporal, message.key, workflowId, hash)) ?? {
        key: message.key,
        workflowId,
        created: false,
      }
    );
  }
}

/**
 * How a run of the message shows in Temporal's visibility: its search attributes (the status it starts
 * in among them) and its summary. A fresh start and a repair's run set the same.
 */
export function shownAs(message: MessageSpec, status: MessageStatus) {
  return {
    typedSearchAttributes: [
      { key: SearchAttribute.messageKey, value: message.key },
      { key: SearchAttribute.topic, value: message.topic },
      { key: SearchAttribute.status, value: status },
      { key: SearchAttribute.producerGroup, value: message.producerGroup },
    ],
    staticSummary: `${message.topic}${message.tag ? `:${message.tag}` : ''} · ${message.key} · from ${message.producerGroup}`,
  } satisfies Pick<WorkflowStartOptions, 'typedSearchAttributes' | 'staticSummary'>;
}

/**
 * The answer for a key whose workflow exists: a repeat (`created: false`) or a KeyConflictError;
 * undefined when there is no workflow. The stored hash comes from the message's state (a query: it
 * stays in the workflow's encrypted payloads, since a bare hash of a short body could be guessed
 * from history).
 */
async function existingMessage(
  temporal: Client,
  key: string,
  workflowId: string,
  hash: string,
): Promise<PrepareResult | undefined> {
  let stored: string | undefined;
  try {
    stored = (await queryState(temporal, key)).specHash;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
  // Messages started before the hash was kept have none: they cannot be compared, only repeated.
  if (stored !== undefined && stored !== hash) throw new KeyConflictError(key);
  return { key, workflowId, created: false };
}

/**
 * A canonical hash of everything that makes the message (not `confirmed`: a send after a prepare of the
 * same message is a confirm, not a conflict). Object keys are sorted so property order does not matter.
 */
export function specHash(spec: MessageSpecInput): string {
  return createHash('sha256').update(canonicalJson(spec)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
