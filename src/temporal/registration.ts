import { createHash } from 'node:crypto';
import { ApplicationFailure, type Client, TimeoutFailure, WorkflowFailedError } from '@temporalio/client';
import { FailureType, REGISTER_WORKFLOW, type Registration } from '../../workflows/definitions.js';
import { abortableSleep, settlesBefore } from '../deadline.js';
import { ValidationError } from '../errors.js';
import type { Logger } from '../logger.js';
import { withAbortSignalOf } from './connection.js';

/**
 * A registration run ends after this long even when no service worker takes it, so a run started
 * while the service is down does not wait on its task queue forever.
 */
export const REGISTRATION_EXECUTION_TIMEOUT_MS = 60_000;
/** How long an SDK's start waits for the service to confirm a registration before going on without it. */
export const DEFAULT_REGISTRATION_TIMEOUT_MS = 10_000;
const CANCEL_WAIT_MS = 5000;

/**
 * One workflow ID per registration and content: SDK instances registering the same thing share one
 * run (no pile of runs waiting for a service that is down), a changed registration gets its own.
 */
export function registrationWorkflowId(registration: Registration): string {
  const who =
    registration.kind === 'subscription' ? `${registration.topic}:${registration.consumerGroup}` : registration.group;
  const content = createHash('sha256').update(JSON.stringify(registration)).digest('hex').slice(0, 12);
  return `rmsg-register:${registration.kind}:${who}:${content}`;
}

/**
 * Records a subscription or a check-back with the service, through its worker (no database access
 * needed), and waits until it is recorded. Fails after REGISTRATION_EXECUTION_TIMEOUT_MS when no
 * service worker takes it.
 */
export async function registerWithService(
  client: Client,
  serviceTaskQueue: string,
  registration: Registration,
): Promise<void> {
  try {
    await client.workflow.execute(REGISTER_WORKFLOW, {
      taskQueue: serviceTaskQueue,
      workflowId: registrationWorkflowId(registration),
      args: [registration],
      // Join a run of the same registration still in flight; once it closed, registering again runs again.
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      workflowExecutionTimeout: REGISTRATION_EXECUTION_TIMEOUT_MS,
    });
  } catch (err) {
    throw registrationFailure(err, serviceTaskQueue);
  }
}

/** A failed registration run as the error it stands for: a refusal, or what was down. */
export function registrationFailure(err: unknown, serviceTaskQueue: string): unknown {
  if (!(err instanceof WorkflowFailedError)) return err;
  const refusal = err.cause?.cause;
  if (refusal instanceof ApplicationFailure && refusal.type === FailureType.registrationRefused) {
    const [field, rule] = refusal.details as [string, string];
    return new ValidationError(field, rule);
  }
  if (err.cause instanceof TimeoutFailure) {
    return new Error(
      `the service did not record the registration within ${REGISTRATION_EXECUTION_TIMEOUT_MS / 1000} s: ` +
        `no service worker took it on task queue ${serviceTaskQueue}, or the service could not reach its database`,
      { cause: err },
    );
  }
  return err;
}

export interface BackgroundRegistration {
  /** Resolves once the service recorded it (never, while the service stays down). */
  readonly done: Promise<void>;
  /**
   * Gives up the retries (on the SDK's stop) and waits briefly for the attempt in flight: the
   * connection must not close under a call the Temporal client may still retry.
   */
  cancel(): Promise<void>;
}

/**
 * Registers for an SDK's start: waits at most `timeoutMs` for the service, then logs one line and
 * keeps trying in the background (a new run each time one times out) until it is recorded or
 * cancelled. The start therefore never hangs on a service that is down.
 */
export async function registerForStart(opts: {
  client: Client;
  serviceTaskQueue: string;
  registration: Registration;
  timeoutMs?: number;
  log: Logger;
}): Promise<BackgroundRegistration> {
  const { client, serviceTaskQueue, registration, log } = opts;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_REGISTRATION_TIMEOUT_MS;
  const abort = new AbortController();
  let waitedOut = false;
  const done = (async () => {
    for (let attempt = 1; ; attempt++) {
      try {
        await withAbortSignalOf(client, abort.signal, () =>
          registerWithService(client, serviceTaskQueue, registration),
        );
        if (waitedOut) log.info({ registration }, 'the service confirmed the registration');
        return;
      } catch (err) {
        // A refusal stays a refusal: no retry, the start (or the log, after it) says why.
        if (abort.signal.aborted || err instanceof ValidationError) throw err;
        // A closed run (timed out: no worker took it) or Temporal unreachable: try again shortly.
        if (attempt === 1 && !waitedOut) log.debug({ err, registration }, 'registration attempt failed; retrying');
        await abortableSleep(Math.min(1000 * 2 ** (attempt - 1), 30_000), abort.signal);
      }
    }
  })();
  done.catch((err: unknown) => {
    // A cancelled registration is no error; a refusal after the start went on is logged.
    if (waitedOut && err instanceof ValidationError)
      log.error({ err, registration }, 'the service refused the registration');
  });
  let timer: NodeJS.Timeout | undefined;
  const inTime = await Promise.race([
    done.then(() => true),
    new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  if (!inTime) {
    waitedOut = true;
    log.warn(
      { registration, serviceTaskQueue, timeoutMs },
      'the service has not confirmed the registration (is its worker running?); starting anyway and retrying in the background',
    );
  }
  return {
    done,
    async cancel() {
      abort.abort();
      await settlesBefore(done, Date.now() + CANCEL_WAIT_MS);
    },
  };
}
