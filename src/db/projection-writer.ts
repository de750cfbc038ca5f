import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { DeliveryState, MessageEvent, MessageSpec, MessageState } from '../../workflows/definitions.js';
import { workflowIdForKey } from '../../workflows/definitions.js';
import { hotPathPool } from './mysql-pool.js';
import type { DatabaseTls } from './tls.js';

/** One workflow's write: its state, what changed since its last write, and the message until the row exists. */
export interface ProjectionWrite {
  state: MessageState;
  /** The deliveries that changed since the last write (all of them on the first). */
  deliveries: DeliveryState[];
  /** Events appended since the last write. */
  events: MessageEvent[];
  /** Given until the row exists: what the message row is created from. */
  message?: MessageSpec;
}

/** `unchanged`: the row already agreed; `newer`: the row is ahead of the state asked (nothing written). */
export type ResyncOutcome = 'updated' | 'created' | 'unchanged' | 'newer' | 'missing';

export type WriteOutcome =
  /** Written (`applied`), or not newer than the stored version; `newEvents` is how many events are new. */
  | { kind: 'written'; applied: boolean; newEvents: number }
  /** A first write whose key belongs to an earlier message (its row or archive entry). */
  | { kind: 'keyReused'; earlier: KeyHolder };

interface Pending {
  write: ProjectionWrite;
  resolve: (outcome: WriteOutcome) => void;
  reject: (err: unknown) => void;
}

/** A batch that hangs (a database gone silent) fails after this, so the writes behind it go on. */
const QUERY_TIMEOUT_MS = 5000;
/** Rows per statement: keeps a statement well under max_allowed_packet with 64 KiB bodies. */
const MAX_BATCH = 64;

const date = (ms: number | undefined) => (ms === undefined ? null : new Date(ms));

/**
 * Group commit for the workflows' projection writes: the writes that arrive while a batch is being
 * committed go together into the next one, a few multi-row statements in one transaction, so the cost per
 * message falls as the load rises and an idle writer adds no wait. Each caller awaits its own outcome,
 * which comes only once its batch committed. Idempotent and order-safe per message: a write whose version
 * is not newer than the stored one changes nothing, so retries never double an event or roll state back.
 */
export class ProjectionWriter {
  private readonly pool: Pool;
  private queue: Pending[] = [];
  private flushing = false;

  constructor(databaseUrl: string, tls?: DatabaseTls) {
    this.pool = hotPathPool(databaseUrl, tls, 2);
  }

  write(write: ProjectionWrite): Promise<WriteOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ write, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        // Writes of the same moment (one worker activation runs many local activities) join the first batch.
        setImmediate(() => void this.drain());
      }
    });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /**
   * The earlier message holding `key`, if any, for a message created at `createdAt`: what its first write
   * would be refused for, read without writing. The live table is read before the archive, so a message
   * being archived meanwhile is seen in one or the other.
   */
  async earlierMessage(key: string, createdAt: number): Promise<KeyHolder | undefined> {
    const [results] = await this.pool.query({
      sql: 'SELECT created_at, status FROM rm_message WHERE `key` = ?;\nSELECT created_at, status FROM rm_message_archive WHERE `key` = ?',
      values: [key, key],
      timeout: QUERY_TIMEOUT_MS,
    });
    const [[live], [archived]] = results as [RowDataPacket[], RowDataPacket[]];
    const holder = (r: RowDataPacket | undefined) =>
      r && { createdAt: r.created_at as Date, status: r.status as string };
    return earlierHolder(holder(live), holder(archived), createdAt);
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.takeBatch();
      try {
        const outcomes = await this.commit(batch.map((p) => p.write));
        for (const [i, p] of batch.entries()) p.resolve(outcomes[i] as WriteOutcome);
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    }
    this.flushing = false;
  }

  /** Up to MAX_BATCH writes of distinct messages; a second write of one message waits for the next batch. */
  private takeBatch(): Pending[] {
    const batch: Pending[] = [];
    const keys = new Set<string>();
    const rest: Pending[] = [];
    for (const p of this.queue) {
      const key = p.write.state.key;
      if (batch.length < MAX_BATCH && !keys.has(key)) {
        keys.add(key);
        batch.push(p);
      } else {
        rest.push(p);
      }
    }
    this.queue = rest;
    return batch;
  }

  /**
   * Repair: makes a message's projection say what its workflow's `state` query says, whatever the version
   * stored (a restored database holds an older one; a diverged row may hold the same). Writes the row and
   * every delivery; events the database lost cannot be rebuilt from the state and stay lost. Never goes
   * back past a newer version (the live workflow may write while this runs). A missing row is created
   * when `message` (the workflow's input) is given.
   */
  resync(state: MessageState, message?: MessageSpec): Promise<ResyncOutcome> {
    return this.transaction(async (run) => {
      const [[row], [stored]] = await run<[RowDataPacket[], RowDataPacket[]]>([
        { sql: 'SELECT version, status FROM rm_message WHERE `key` = ? FOR UPDATE', values: [state.key] },
        { sql: 'SELECT COUNT(*) AS n FROM rm_delivery WHERE message_key = ?', values: [state.key] },
      ]);
      if (!row && !message) return 'missing';
      if (row && row.version > state.version) return 'newer';
      if (row && row.version === state.version && row.status === state.status && stored?.n === state.deliveries.length)
        return 'unchanged';
      const now = new Date();
      await run(
        [
          row ? updateMessages([state], now) : insertMessages([{ state, message: message as MessageSpec }], now),
          upsertDeliveries(state.deliveries.map((d) => deliveryRowOf(state, d, now))),
        ],
        { last: true },
      );
      return row ? 'updated' : 'created';
    });
  }

  private commit(writes: ProjectionWrite[]): Promise<WriteOutcome[]> {
    return this.transaction((run) => this.apply(run, writes));
  }

  /**
   * Runs `work` in one transaction on one connection, in as many round trips as `work` calls `run`: each
   * call sends its statements together, the first with the BEGIN, one marked `last` with the COMMIT.
   * Each round trip is bounded by QUERY_TIMEOUT_MS.
   */
  private async transaction<T>(work: (run: Run) => Promise<T>): Promise<T> {
    const conn = await this.pool.getConnection();
    let began = false;
    let committed = false;
    const run = async (statements: (Statement | undefined)[], opts: { last?: boolean } = {}): Promise<unknown[]> => {
      const head = began ? [] : [{ sql: 'BEGIN', values: [] }];
      const tail = opts.last ? [{ sql: 'COMMIT', values: [] }] : [];
      const all = [...head, ...statements.filter((x): x is Statement => x !== undefined), ...tail];
      began = true;
      committed = opts.last === true;
      const [results] = await conn.query({
        sql: all.map((x) => x.sql).join(';\n'),
        values: all.flatMap((x) => x.values),
        timeout: QUERY_TIMEOUT_MS,
      });
      // One statement answers with its result, several with one result each.
      const each = all.length === 1 ? [results] : (results as unknown[]);
      return each.slice(head.length, each.length - tail.length);
    };
    try {
      const result = await work(run as Run);
      if (!committed) await run([], { last: true });
      conn.release();
      return result;
    } catch (err) {
      // A connection whose state is unknown (a timeout, a lost link, an open transaction) is not reused.
      conn.destroy();
      throw err;
    }
  }

  /** Two round trips for the whole batch: the rows as stored (locked), then every write and the COMMIT. */
  private async apply(run: Run, writes: ProjectionWrite[]): Promise<WriteOutcome[]> {
    const keys = writes.map((w) => w.state.key);
    const firstWrites = writes.filter((w) => w.message).map((w) => w.state.key);
    const [storedRows, archivedRows] = await run<RowDataPacket[][]>([
      {
        sql: 'SELECT `key`, version, created_at, status FROM rm_message WHERE `key` IN (?) FOR UPDATE',
        values: [keys],
      },
      firstWrites.length === 0
        ? undefined
        : { sql: 'SELECT `key`, created_at, status FROM rm_message_archive WHERE `key` IN (?)', values: [firstWrites] },
    ]);
    const stored = new Map(
      (storedRows ?? []).map((r) => [
        r.key,
        { version: r.version as number, createdAt: r.created_at as Date, status: r.status as string },
      ]),
    );
    const archived = new Map(
      (archivedRows ?? []).map((r) => [r.key, { createdAt: r.created_at as Date, status: r.status as string }]),
    );

    const outcomes: WriteOutcome[] = [];
    const inserts: ProjectionWrite[] = [];
    const updates: ProjectionWrite[] = [];
    for (const w of writes) {
      const row = stored.get(w.state.key);
      if (w.message) {
        const earlier = earlierHolder(row, archived.get(w.state.key), w.state.createdAt);
        if (earlier) {
          outcomes.push({ kind: 'keyReused', earlier });
          continue;
        }
      }
      const applied = row ? row.version < w.state.version : w.message !== undefined;
      if (applied) (row ? updates : inserts).push(w);
      outcomes.push({ kind: 'written', applied, newEvents: 0 });
    }
    const applied = [...inserts, ...updates];
    if (applied.length === 0) return outcomes;

    const now = new Date();
    const events = applied.flatMap((w) => w.events.map((e) => eventRowOf(w.state.key, e)));
    const results = await run<{ affectedRows: number }[]>(
      [
        insertMessages(inserts as { state: MessageState; message: MessageSpec }[], now),
        updateMessages(
          updates.map((w) => w.state),
          now,
        ),
        upsertDeliveries(applied.flatMap((w) => w.deliveries.map((d) => deliveryRowOf(w.state, d, now)))),
        events.length === 0
          ? undefined
          : {
              sql: 'INSERT IGNORE INTO rm_message_event (message_key, seq, type, consumer_group, detail, created_at) VALUES ?',
              values: [events],
            },
      ],
      { last: true },
    );
    // The events' insert is the last statement sent before the COMMIT.
    const newEvents = events.length === 0 ? 0 : (results.at(-1)?.affectedRows ?? 0);
    // Events already stored (a write committed, then retried) make the count fall short: then none of the
    // batch's events are counted as new, rather than some twice.
    if (newEvents === events.length) {
      for (const [i, w] of writes.entries()) {
        const o = outcomes[i];
        if (o?.kind === 'written' && o.applied) o.newEvents = w.events.length;
      }
    }
    return outcomes;
  }
}

/** A message that holds a key: its creation time and status. */
export interface KeyHolder {
  createdAt: Date;
  status: string;
}

/**
 * The earlier message holding the key that a message created at `createdAt` asks for, if any: a row (or
 * archive entry) this run did not create. A retry of this run's own first write, by a retried first task
 * too, finds its own row (same creation time).
 */
function earlierHolder(row: KeyHolder | undefined, archived: KeyHolder | undefined, createdAt: number) {
  if (row) return row.createdAt.getTime() !== createdAt ? { createdAt: row.createdAt, status: row.status } : undefined;
  return archived;
}

/** One SQL statement with its values; `undefined` in a list stands for nothing to send. */
interface Statement {
  sql: string;
  values: unknown[];
}
/** Sends statements together in one round trip; the results of those given, in order. */
type Run = <R extends unknown[]>(statements: (Statement | undefined)[], opts?: { last?: boolean }) => Promise<R>;

function insertMessages(rows: { state: MessageState; message: MessageSpec }[], now: Date): Statement | undefined {
  if (rows.length === 0) return undefined;
  return {
    sql: `INSERT INTO rm_message (${MESSAGE_COLUMNS.join(', ')}, \`key\`, topic, tag, body, properties, producer_group,
       order_key, delay_ms, options, workflow_id, created_at, updated_at) VALUES ?`,
    values: [rows.map((r) => [...messageRowOf(r.state), ...newMessageRowOf(r.state, r.message), now])],
  };
}

/** One UPDATE per message. */
function updateMessages(states: MessageState[], now: Date): Statement | undefined {
  if (states.length === 0) return undefined;
  const set = MESSAGE_COLUMNS.map((c) => `${c} = ?`).join(', ');
  return {
    sql: states.map(() => `UPDATE rm_message SET ${set}, updated_at = ? WHERE \`key\` = ?`).join(';\n'),
    values: states.flatMap((state) => [...messageRowOf(state), now, state.key]),
  };
}

function upsertDeliveries(rows: unknown[][]): Statement | undefined {
  if (rows.length === 0) return undefined;
  return {
    sql: `INSERT INTO rm_delivery (message_key, consumer_group, ${DELIVERY_COLUMNS.join(', ')}, created_at, updated_at)
     VALUES ? ON DUPLICATE KEY UPDATE ${[...DELIVERY_COLUMNS, 'updated_at'].map((c) => `${c} = VALUES(${c})`).join(', ')}`,
    values: [rows],
  };
}

/** The message row's columns that follow the workflow's state, in the order of messageRowOf. */
const MESSAGE_COLUMNS = [
  'status',
  'dead_reason',
  'cancel_reason',
  'send_count',
  'check_back_count',
  'last_error',
  'version',
  'confirmed_at',
  'published_at',
  'finished_at',
  'cancelled_at',
  'dead_at',
];

function messageRowOf(s: MessageState): unknown[] {
  return [
    s.status,
    s.deadReason ?? null,
    s.cancelReason ?? null,
    s.sendCount,
    s.checkBackCount,
    s.lastError ?? null,
    s.version,
    date(s.confirmedAt),
    date(s.publishedAt),
    date(s.finishedAt),
    date(s.cancelledAt),
    date(s.deadAt),
  ];
}

function newMessageRowOf(s: MessageState, m: MessageSpec): unknown[] {
  return [
    m.key,
    m.topic,
    m.tag ?? null,
    m.body,
    m.properties === undefined ? null : JSON.stringify(m.properties),
    m.producerGroup,
    m.orderKey ?? null,
    m.delayMs ?? null,
    JSON.stringify(s.timings),
    workflowIdForKey(m.key),
    new Date(s.createdAt),
  ];
}

const DELIVERY_COLUMNS = [
  'status',
  'send_count',
  'receive_count',
  'last_error',
  'last_sent_at',
  'received_at',
  'consumed_at',
  'dead_at',
];

function deliveryRowOf(s: MessageState, d: DeliveryState, now: Date): unknown[] {
  return [
    s.key,
    d.group,
    d.status,
    d.sendCount,
    d.receiveCount,
    d.lastError ?? null,
    date(d.lastSentAt),
    date(d.receivedAt),
    date(d.consumedAt),
    d.status === 'DEAD' ? date(s.deadAt) : null,
    now,
    now,
  ];
}

function eventRowOf(key: string, e: MessageEvent): unknown[] {
  return [
    key,
    e.seq,
    e.type,
    e.group ?? null,
    e.detail === undefined ? null : JSON.stringify(e.detail),
    new Date(e.at),
  ];
}
