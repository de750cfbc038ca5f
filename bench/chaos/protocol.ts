/** What the chaos run's child processes (order service, stock service) and the run say to each other over IPC. */

export type OrderKind = 'normal' | 'rollback' | 'crash';

export interface ChaosOrder {
  id: string;
  sku: string;
  quantity: number;
  kind: OrderKind;
  /** The stock handler fails once for this order (recorded in the stock database, so also across restarts). */
  failOnce: boolean;
}

/**
 * Parent -> order process. `place`: the local-transaction helper (commit, then confirm). `commitOnly`:
 * commit and never confirm (a batch of crashing orders). `crashAfterCommit`: commit, then SIGKILL itself.
 */
export type OrderCommand = { type: 'place' | 'commitOnly' | 'crashAfterCommit'; order: ChaosOrder };

export type OrderOutcome = 'committed' | 'rolledBack' | 'failed';

/** Child -> parent. */
export type ChildReport =
  | { type: 'ready' }
  | { type: 'placed'; id: string; outcome: OrderOutcome; confirmMs?: number; error?: string };

/** The environment variables the run passes its children (beside the stack's). */
export const CHAOS_ENV = {
  runId: 'RMSG_CHAOS_RUN',
  topic: 'RMSG_CHAOS_TOPIC',
  producerGroup: 'RMSG_CHAOS_PRODUCER_GROUP',
  consumerGroup: 'RMSG_CHAOS_CONSUMER_GROUP',
  /** For the order process that serves the check-back (the crash batches do not). */
  serveCheckBack: 'RMSG_CHAOS_SERVE_CHECK_BACK',
} as const;

export const ORDERS_DB = 'rmsg_chaos_orders';
export const STOCK_DB = 'rmsg_chaos_stock';

/**
 * stock_moves has no unique key on order_id on purpose: a duplicate effect must show as a second row,
 * not be hidden by a constraint violation and a retry.
 */
export const STOCK_SCHEMA = [
  'CREATE TABLE IF NOT EXISTS stock (sku VARCHAR(64) PRIMARY KEY, quantity INT NOT NULL)',
  `CREATE TABLE IF NOT EXISTS stock_moves (
     id BIGINT AUTO_INCREMENT PRIMARY KEY, order_id VARCHAR(64) NOT NULL, sku VARCHAR(64) NOT NULL,
     quantity INT NOT NULL, created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3), KEY (order_id))`,
  'CREATE TABLE IF NOT EXISTS failed_once (order_id VARCHAR(64) PRIMARY KEY)',
];

export function requireEnv(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} must be set (the chaos run sets it for its child processes)`);
  return v;
}

export function report(message: ChildReport): void {
  process.send?.(message);
}

/** Short per-message timings, so a crashed producer's check-back and resends happen within seconds. */
export const CHAOS_TIMINGS = {
  checkBackAfterMs: 2000,
  resendAfterMs: 3000,
  resendBackoff: 1.5,
  maxResendIntervalMs: 10_000,
};
