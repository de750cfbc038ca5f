import { setTimeout as sleep } from 'node:timers/promises';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll } from 'vitest';
import { createFirstPublicationActivities } from '../../activities/first-publication.js';
import type { Activities } from '../../activities/index.js';
import { createOpenMessageActivities } from '../../activities/open-message.js';
import type { PublishInput } from '../../activities/publish.js';
import type { ProjectionWrite } from '../../src/db/projection-writer.js';
import { connectTemporalClient, temporalConnectionOptions } from '../../src/temporal/connection.js';
import { installTemporalRuntime } from '../../src/temporal/runtime.js';
import { resolveTimings } from '../../src/timings.js';
import { guardedWorkerClass } from '../../src/worker/guarded-worker.js';
import {
  ackSignal,
  type CheckBackContext,
  CONSUMER_CHECK_BACK_ACTIVITY,
  FailureType,
  type MessageState,
  PRODUCER_CHECK_BACK_ACTIVITY,
  RELIABLE_MESSAGE_WORKFLOW,
  type ReliableMessageInput,
  SearchAttribute,
  STARTER_PROTOCOL,
  stateQuery,
  type Timings,
  workflowIdForKey,
} from '../../workflows/definitions.js';
import { startStatus } from '../../workflows/message-state.js';
import type { reliableMessageWorkflow } from '../../workflows/reliable-message.js';
import { eventually } from './eventually.js';
import { ignoreClosed, terminateRunningWorkflows } from './running-workflows.js';
import { testConfig, testLogger, uniqueId } from './stack.js';
import { UNIT_TIMINGS } from './unit-timings.js';
import { sharedWorkflowBundle } from './workflow-bundle.js';

const notStuck = (stuck: { workflowId: string }) => {
  throw new Error(`workflow ${stuck.workflowId} did not answer an activation`);
};

/** The workflow's activities as a fake serves them: the ones it calls, by their real names and types. */
type WorkflowActivities = Pick<
  Activities,
  | 'openMessage'
  | 'publishConfirmed'
  | 'resolveTimings'
  | 'syncProjection'
  | 'snapshotSubscribers'
  | 'publishMessage'
  | 'findCheckBack'
  | 'httpCheckBack'
>;

/**
 * How a check-back answers: its call number (1-based, per kind) to a word, or a throw for a check-back that
 * fails. An HTTP check-back is also told the group asked (a task-queue one is asked with the key alone).
 */
type Answering = (call: number, group?: string) => unknown;

/** What the fakes do for one message; every name in it is unique to the test. */
export interface FakeMessageOptions {
  /** The consumer groups subscribed when it is confirmed (none by default). */
  subscribers?: string[];
  /** Why the key is an earlier message's, as the read before a send's first publication answers. */
  keyHeldBy?: string;
  /** Groups that report CONSUMED (by signal) as soon as a publication to them is sent. */
  consumeOnPublish?: string[];
  /** The producer's check-back, served on a task queue (the SDK's way) or over HTTP; none when absent. */
  producerCheckBack?: { via: 'taskQueue' | 'http'; answer: Answering };
  /**
   * A consumer check-back for these groups, on a task queue (by default; it answers for the message, whoever
   * asks) or over HTTP (a URL per group, so it can answer per group). The groups are looked up by name alone
   * (as the real registry does), so give them names unique to the test.
   */
  consumerCheckBack?: { groups: string[]; via?: 'taskQueue' | 'http'; answer: Answering };
  /** Runs before each publication is recorded as sent (call 1-based); a throw is RocketMQ's failure. */
  onPublish?: (call: number, input: PublishInput) => void | Promise<void>;
  /** Runs before each projection write (call 1-based); a throw is MySQL's failure. */
  onSync?: (call: number, input: ProjectionWrite) => void | Promise<void>;
  /** Runs before each subscriber lookup (call 1-based); a throw is MySQL's failure. */
  onSnapshot?: (call: number) => void | Promise<void>;
  /** Runs before each check-back route lookup (call 1-based) of the group named, producer's or consumer's. */
  onFindCheckBack?: (call: number, group: string) => void | Promise<void>;
  /** Per-message timings, as a producer would pass them. */
  timings?: Partial<Timings>;
  /**
   * The workflow task timeout (Temporal's default 10 s): a local activity running past 80 % of it makes
   * the worker complete the task empty and go on in a new one.
   */
  workflowTaskTimeoutMs?: number;
  /** The history length at which the run continues as new (the workflow's own limit by default). */
  maxHistoryEvents?: number;
}

export interface CheckBackCall {
  kind: 'producer' | 'consumer';
  via: 'taskQueue' | 'http';
  /** The group asked, when the check-back is told (over HTTP). */
  group?: string;
  /** When the message was created, as the check-back is told. */
  createdAt?: number;
  at: number;
}

/** One message of a test: its names, and what the fake activities were asked for it. */
export class FakeMessage {
  readonly key = uniqueId('unit-msg');
  readonly topic = uniqueId('unit-topic');
  readonly producerGroup = uniqueId('unit-producer');
  readonly syncs: ProjectionWrite[] = [];
  readonly publishes: (PublishInput & { at: number })[] = [];
  readonly checkBacks: CheckBackCall[] = [];
  readonly subscriberSnapshots: { topic: string; tag?: string }[] = [];
  /** Every publish attempt, including failed ones. */
  publishAttempts = 0;
  /** Check-back route lookups made for it. */
  routeLookups = 0;
  /** Subscriber lookups tried for it, including failed ones. */
  snapshotAttempts = 0;
  readonly handle: WorkflowHandle<typeof reliableMessageWorkflow>;

  constructor(
    readonly options: FakeMessageOptions,
    client: Client,
  ) {
    this.handle = client.workflow.getHandle(workflowIdForKey(this.key));
  }

  state(): Promise<MessageState> {
    return this.handle.query(stateQuery);
  }

  /** Waits until the workflow's state query satisfies `done`; returns that state. */
  until(done: (s: MessageState) => boolean, what: string, timeoutMs = 10_000): Promise<MessageState> {
    return eventually(
      async () => {
        const s = await this.state();
        return done(s) && s;
      },
      timeoutMs,
      `${this.key}: ${what}`,
    );
  }

  untilStatus(status: MessageState['status'], timeoutMs?: number): Promise<MessageState> {
    return this.until((s) => s.status === status, status, timeoutMs);
  }

  /** The projection's event types in the order they were written. */
  writtenEvents(): string[] {
    return this.syncs.flatMap((w) => w.events.map((e) => e.type));
  }

  producerCheckBacks(): CheckBackCall[] {
    return this.checkBacks.filter((c) => c.kind === 'producer');
  }

  consumerCheckBacks(): CheckBackCall[] {
    return this.checkBacks.filter((c) => c.kind === 'consumer');
  }
}

/**
 * The real workflow code on the local Temporal, with fake activities and no MySQL or RocketMQ: one worker
 * and one bundle for a whole test file, on a task queue of its own (plus one where the fake check-backs
 * are served, as an SDK serves them on the producer's or consumer's own queue).
 */
export class WorkflowHarness {
  private readonly messages = new Map<string, FakeMessage>();
  private runs: Promise<void>[] | undefined;

  private constructor(
    readonly client: Client,
    private readonly connection: NativeConnection,
    private serviceWorker: Worker,
    private readonly checkBackWorker: Worker,
    private readonly newServiceWorker: () => Promise<Worker>,
    readonly taskQueue: string,
  ) {}

  /**
   * With `paused`, the workers poll only once `resume()` is called: a workflow started meanwhile has its
   * first task waiting, and a query sent meanwhile comes with that task.
   */
  static async start(options: { paused?: boolean } = {}): Promise<WorkflowHarness> {
    installTemporalRuntime(testLogger);
    const taskQueue = uniqueId('rmsg-unit');
    const checkBackQueue = `${taskQueue}-check-back`;
    const [workflowBundle, connection, client] = await Promise.all([
      sharedWorkflowBundle(),
      NativeConnection.connect(temporalConnectionOptions(testConfig.temporal)),
      connectTemporalClient(testConfig.temporal, testConfig.codec),
    ]);
    let harness: WorkflowHarness | undefined;
    const lookup = (name: string) => harness?.messages.get(name);
    const messageOf = (name: string) => {
      const m = lookup(name);
      if (!m) throw new Error(`no fake message named ${name}`);
      return m;
    };
    const activities = fakeActivities(lookup, messageOf, checkBackQueue, (m, group) => {
      // A message that closed meanwhile needs no ack.
      m.handle.signal(ackSignal, { group, status: 'CONSUMED', received: true }).catch(ignoreClosed);
    });
    const answerOf = (kind: 'producer' | 'consumer') => (key: string, told?: CheckBackContext) =>
      answerCheckBack(messageOf(key), kind, 'taskQueue', { createdAt: told?.createdAt });
    const namespace = testConfig.temporal.namespace;
    // The service's worker class, so the final write goes the way it goes in production.
    const newServiceWorker = () =>
      guardedWorkerClass(notStuck, { finalWrites: (write) => activities.syncProjection(write) }).create({
        connection,
        namespace,
        taskQueue,
        workflowBundle,
        activities,
      });
    const [serviceWorker, checkBackWorker] = await Promise.all([
      newServiceWorker(),
      Worker.create({
        connection,
        namespace,
        taskQueue: checkBackQueue,
        activities: {
          [PRODUCER_CHECK_BACK_ACTIVITY]: answerOf('producer'),
          [CONSUMER_CHECK_BACK_ACTIVITY]: answerOf('consumer'),
        },
      }),
    ]);
    harness = new WorkflowHarness(client, connection, serviceWorker, checkBackWorker, newServiceWorker, taskQueue);
    if (!options.paused) harness.resume();
    return harness;
  }

  /** Starts the workers polling (once). */
  resume(): void {
    this.runs ??= [this.serviceWorker.run(), this.checkBackWorker.run()];
  }

  /**
   * An outage of the service's worker: it stops, the runs' timers fire meanwhile with nobody to handle them,
   * and after `ms` a new worker takes over (replaying each run's history, as after a deploy).
   */
  async serviceWorkerDownFor(ms: number): Promise<void> {
    this.resume();
    const runs = this.runs as Promise<void>[];
    this.serviceWorker.shutdown();
    await runs[0];
    await sleep(ms);
    this.serviceWorker = await this.newServiceWorker();
    runs[0] = this.serviceWorker.run();
  }

  /** Starts a message's workflow: prepared, or already confirmed (a send). */
  async start(confirmed: boolean, options: FakeMessageOptions = {}): Promise<FakeMessage> {
    const m = new FakeMessage(options, this.client);
    for (const name of [m.key, m.topic, m.producerGroup, ...(options.consumerCheckBack?.groups ?? [])]) {
      this.messages.set(name, m);
    }
    const input: ReliableMessageInput = {
      message: { key: m.key, topic: m.topic, body: '{"order":1}', producerGroup: m.producerGroup },
      confirmed,
      timings: options.timings,
      protocol: STARTER_PROTOCOL,
      maxHistoryEvents: options.maxHistoryEvents,
    };
    await this.client.workflow.start(RELIABLE_MESSAGE_WORKFLOW, {
      taskQueue: this.taskQueue,
      workflowId: workflowIdForKey(m.key),
      args: [input],
      workflowTaskTimeout: options.workflowTaskTimeoutMs,
      // As the client starts it: the workflow upserts the status only when it moves on.
      typedSearchAttributes: [{ key: SearchAttribute.status, value: startStatus(confirmed) }],
    });
    return m;
  }

  /** Terminates what is still running on its task queue, then stops the workers. */
  async stop(): Promise<void> {
    await terminateRunningWorkflows(this.client, this.taskQueue);
    this.resume();
    for (const w of [this.serviceWorker, this.checkBackWorker]) w.shutdown();
    await Promise.all(this.runs ?? []);
    await this.connection.close();
    await this.client.connection.close();
  }
}

function answerCheckBack(
  m: FakeMessage,
  kind: 'producer' | 'consumer',
  via: 'taskQueue' | 'http',
  told: { group?: string; createdAt?: number },
): unknown {
  const checkBack = kind === 'producer' ? m.options.producerCheckBack : m.options.consumerCheckBack;
  if (!checkBack) throw new Error(`${m.key} has no ${kind} check-back`);
  m.checkBacks.push({ kind, via, ...told, at: Date.now() });
  return checkBack.answer(m.checkBacks.filter((c) => c.kind === kind).length, told.group);
}

function fakeActivities(
  lookup: (name: string) => FakeMessage | undefined,
  messageOf: (name: string) => FakeMessage,
  checkBackQueue: string,
  consumed: (m: FakeMessage, group: string) => void,
): WorkflowActivities {
  const opening = {
    async resolveTimings(overrides: Partial<Timings>) {
      return resolveTimings(UNIT_TIMINGS, overrides, 1);
    },
    async syncProjection(input: ProjectionWrite) {
      const m = messageOf(input.state.key);
      await m.options.onSync?.(m.syncs.length + 1, input);
      m.syncs.push(input);
    },
    async snapshotSubscribers(input: { topic: string; tag?: string }) {
      const m = messageOf(input.topic);
      await m.options.onSnapshot?.(++m.snapshotAttempts);
      m.subscriberSnapshots.push(input);
      return m.options.subscribers ?? [];
    },
  };
  /** The writer's answer: a refused key (an `onSync` throwing a KeyReused failure) is said, not thrown. */
  const writeProjection = async (input: ProjectionWrite) => {
    try {
      await opening.syncProjection(input);
      return {};
    } catch (err) {
      if (err instanceof ApplicationFailure && err.type === FailureType.keyReused) return { keyReused: err.message };
      throw err;
    }
  };
  const publishMessage = async (input: PublishInput) => {
    const m = messageOf(input.key);
    m.publishAttempts += 1;
    await m.options.onPublish?.(m.publishAttempts, input);
    m.publishes.push({ ...input, at: Date.now() });
    for (const group of input.groups) if (m.options.consumeOnPublish?.includes(group)) consumed(m, group);
    return { messageId: `fake-${m.publishes.length}` };
  };
  return {
    ...opening,
    // The real first task, over the fakes above.
    ...createOpenMessageActivities({
      ...opening,
      writeProjection,
      publishMessage,
      keyReusedBy: async (key) => messageOf(key).options.keyHeldBy,
    }),
    ...createFirstPublicationActivities({ ...opening, writeProjection, publishMessage }),
    publishMessage,
    async findCheckBack({ kind, group }) {
      const asking = lookup(group);
      if (asking) await asking.options.onFindCheckBack?.(++asking.routeLookups, group);
      const at = Date.now();
      if (kind === 'consumer') {
        const checkBack = lookup(group)?.options.consumerCheckBack;
        if (!checkBack) return { at };
        return checkBack.via === 'http'
          ? { url: `https://${group}.example/check-back`, at }
          : { taskQueue: checkBackQueue, at };
      }
      const m = messageOf(group);
      const via = m.options.producerCheckBack?.via;
      if (via === 'http') return { url: `https://${m.producerGroup}.example/check-back`, at };
      return via === 'taskQueue' ? { taskQueue: checkBackQueue, at } : { at };
    },
    async httpCheckBack({ key, kind, group, createdAt }) {
      return String(answerCheckBack(messageOf(key), kind, 'http', { group, createdAt }));
    },
  };
}

/**
 * For a test file: a harness whose workers poll, and a paused one (see `WorkflowHarness.start`), started
 * before its tests and stopped after them.
 */
export function harnessesForFile(): { running: WorkflowHarness; paused: WorkflowHarness } {
  const harnesses = {} as { running: WorkflowHarness; paused: WorkflowHarness };
  beforeAll(async () => {
    [harnesses.running, harnesses.paused] = await Promise.all([
      WorkflowHarness.start(),
      WorkflowHarness.start({ paused: true }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([harnesses.running?.stop(), harnesses.paused?.stop()]);
  });
  return harnesses;
}
