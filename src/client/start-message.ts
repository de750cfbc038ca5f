import { createHash } from 'node:crypto';
import { type Client, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import {
  RELIABLE_MESSAGE_WORKFLOW,
  type ReliableMessageInput,
  SearchAttribute,
  stateQuery,
  workflowIdForKey,
} from '../../workflows/definitions.js';
import { KeyConflictError } from '../errors.js';
import type { MessageSpecInput } from '../message-spec.js';

export interface PrepareResult {
  key: string;
  workflowId: string;
  /** False when a message with this key already existed (nothing new was registered). */
  created: boolean;
}

/**
 * Starts a message's workflow (prepare, or send when `confirmed`) from a validated spec. Used by the
 * SDK and by the HTTP API, which takes the producer group from the request. A repeat with the same
 * spec is idempotent (`created: false`); the same key with another spec is a KeyConflictError.
 */
export async function startMessage(
  temporal: Client,
  taskQueue: string,
  spec: MessageSpecInput,
  confirmed: boolean,
): Promise<PrepareResult> {
  const { timings, ...message } = spec;
  const workflowId = workflowIdForKey(message.key);
  const hash = specHash(spec);
  const args: ReliableMessageInput = { message, confirmed, timings, specHash: hash };
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
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    const stored = await storedSpecHash(temporal, workflowId);
    // Messages started before the hash was kept have none: they cannot be compared, only repeated.
    if (stored !== undefined && stored !== hash) throw new KeyConflictError(message.key);
    return { key: message.key, workflowId, created: false };
  }
}

/**
 * The hash the message was started with, from its state (a query: it stays in the workflow's encrypted
 * payloads, since a bare hash of a short body could be guessed from history).
 */
async function storedSpecHash(temporal: Client, workflowId: string): Promise<string | undefined> {
  try {
    return (await temporal.workflow.getHandle(workflowId).query(stateQuery)).specHash;
  } catch (err) {
    // Gone between the refused start and now (past retention): nothing to compare with.
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
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
