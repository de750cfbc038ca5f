import { setTimeout as sleep } from 'node:timers/promises';
import {
  type Client,
  isGrpcServiceError,
  QueryNotRegisteredError,
  ServiceError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import {
  type Ack,
  ackUpdate,
  cancelUpdate,
  confirmUpdate,
  FailureType,
  type MessageState,
  resendUpdate,
  stateQuery,
  stillOpening,
  workflowIdForKey,
} from '../../workflows/definitions.js';
import { InvalidTransitionError, MessageNotFoundError, MessageOpeningError, NotASubscriberError } from '../errors.js';
import { parseMessageKey } from '../message-spec.js';

/**
 * Operations on an existing message by key, with the workflow's failures mapped to the shared errors
 * (MessageNotFoundError, InvalidTransitionError). The SDK and the HTTP API both use these.
 */

type Actor = 'producer' | 'operator';

/** The message's whole state, with its deliveries (also of a closed workflow). */
export async function getMessageState(temporal: Client, key: string): Promise<MessageState> {
  parseMessageKey(key);
  try {
    return await queryState(temporal, key);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new MessageNotFoundError(key);
    throw err;
  }
}

/** How long a state query waits for a message still opening before it says so. */
const OPENING_WAIT_MS = 3000;

/**
 * The state query. A message whose first workflow task has not finished has no state yet (the first
 * task takes milliseconds, but retries while MySQL is down): it is asked again, briefly, then
 * MessageOpeningError. Runs started before the workflow said "opening" say that no handler exists.
 */
export async function queryState(temporal: Client, key: string): Promise<MessageState> {
  const handle = temporal.workflow.getHandle(workflowIdForKey(key));
  const deadline = Date.now() + OPENING_WAIT_MS;
  for (let wait = 50; ; wait = Math.min(wait * 2, 500)) {
    try {
      return await handle.query(stateQuery);
    } catch (err) {
      if (!isOpening(err, key)) throw err;
      if (Date.now() + wait > deadline) throw MessageOpeningError.of(key);
      await sleep(wait);
    }
  }
}

function isOpening(err: unknown, key: string): boolean {
  if (!(err instanceof QueryNotRegisteredError)) return false;
  return (
    err.message.includes(stillOpening(key)) || err.message.includes(`did not register a handler for ${stateQuery.name}`)
  );
}

/** Whether the message's workflow is known to Temporal (running, or closed within retention). */
export async function workflowExists(temporal: Client, key: string): Promise<boolean> {
  try {
    await temporal.workflow.getHandle(workflowIdForKey(key)).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

/** Publish it. Idempotent; an InvalidTransitionError after cancel. */
export function confirmMessage(temporal: Client, key: string, by: Actor): Promise<MessageState> {
  return updateMessage(temporal, key, 'confirm', (h) => h.executeUpdate(confirmUpdate, { args: [{ by }] }), [
    'SENDING',
    'FINISHED',
  ]);
}

/** Never publish it. Idempotent; an InvalidTransitionError once confirmed. */
export function cancelMessage(temporal: Client, key: string, by: Actor, reason?: string): Promise<MessageState> {
  return updateMessage(temporal, key, 'cancel', (h) => h.executeUpdate(cancelUpdate, { args: [{ by, reason }] }), [
    'CANCELLED',
  ]);
}

/** Operator resend: a DEAD message gets a fresh send budget; a SENDING one is resent now. */
export function resendMessage(temporal: Client, key: string): Promise<MessageState> {
  return updateMessage(temporal, key, 'resend', (h) => h.executeUpdate(resendUpdate), []);
}

/**
 * A consumer group's report, checked by the message before it is recorded: a NotASubscriberError for a group
 * it was not published to. On a closed message (its state is final) it changes nothing: `accepted` false.
 */
export async function ackMessage(
  temporal: Client,
  key: string,
  ack: Ack,
): Promise<{ accepted: boolean; status: MessageState['status'] }> {
  parseMessageKey(key);
  try {
    const handle = temporal.workflow.getHandle(workflowIdForKey(key));
    const state = await againIfAbortedWithItsTask(() => handle.executeUpdate(ackUpdate, { args: [ack] }));
    return { accepted: true, status: state.status };
  } catch (err) {
    throwRefusal(key, err);
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    return { accepted: false, status: (await getMessageState(temporal, key)).status };
  }
}

/** The workflow's refusal of an update, as the shared error it stands for. */
function throwRefusal(key: string, err: unknown): void {
  if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
    if (err.cause.type === FailureType.invalidTransition) throw new InvalidTransitionError(key, err.cause.message);
    if (err.cause.type === FailureType.notASubscriber) throw new NotASubscriberError(key, err.cause.message);
  }
}

async function updateMessage(
  temporal: Client,
  key: string,
  action: string,
  call: (h: ReturnType<Client['workflow']['getHandle']>) => Promise<MessageState>,
  closedOk: MessageState['status'][],
): Promise<MessageState> {
  parseMessageKey(key);
  const handle = temporal.workflow.getHandle(workflowIdForKey(key));
  try {
    return await againIfAbortedWithItsTask(() => call(handle));
  } catch (err) {
    throwRefusal(key, err);
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    // Not running: either it never existed, or it closed (FINISHED/CANCELLED) and its state is final.
    const state = await getMessageState(temporal, key);
    if (closedOk.includes(state.status)) return state;
    const why = state.lastError ? ` (${state.lastError})` : '';
    throw new InvalidTransitionError(
      key,
      `message ${key} is ${state.status}${state.deadReason ? `(${state.deadReason})` : ''}${why}; it cannot be given ${action}`,
    );
  }
}

/** gRPC's FAILED_PRECONDITION, the code of Temporal's WorkflowNotReady. */
const FAILED_PRECONDITION = 9;
/** Sends of one update Temporal aborts with its workflow task; the same failure each time is taken as lasting. */
const UPDATE_SENDS = 5;
const UPDATE_RESEND_FIRST_MS = 100;

/**
 * Sends an update again when Temporal aborted it with the workflow task it was delivered in (the task ended
 * the run, by continue-as-new or completion, while a signal came: Temporal failed it as UNHANDLED_COMMAND).
 * The worker ran the update, but Temporal dropped the task's completion, so the update is not in history:
 * sending it again applies it once, even a resend or a RECEIVED ack, which would count twice. The handle
 * names no run, so the new send reaches the current one. A task failing for good fails every send alike.
 */
async function againIfAbortedWithItsTask<T>(send: () => Promise<T>): Promise<T> {
  for (let sent = 1, wait = UPDATE_RESEND_FIRST_MS; ; sent++, wait *= 2) {
    try {
      return await send();
    } catch (err) {
      if (sent >= UPDATE_SENDS || !abortedWithItsTask(err)) throw err;
      await sleep(wait);
    }
  }
}

/** Temporal's `workflowTaskFailErr`: an update delivered in a workflow task that Temporal then failed. */
function abortedWithItsTask(err: unknown): boolean {
  const cause = err instanceof ServiceError ? err.cause : undefined;
  return (
    isGrpcServiceError(cause) &&
    cause.code === FAILED_PRECONDITION &&
    (cause.details ?? '').includes('unexpected workflow task failure')
  );
}
