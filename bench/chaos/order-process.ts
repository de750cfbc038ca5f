/**
 * A chaos run's order service, as its own process: places the orders the run sends it (the order row
 * and the message in one local transaction, then confirm), serves the producer check-back, and dies
 * by SIGKILL between commit and confirm when told to.
 */
import mysql from 'mysql2/promise';
import { createOrderService, ORDER_SERVICE, ORDER_TOPIC } from '../../examples/order-stock/order-service.js';
import { ReliableMessageClient } from '../../src/client/index.js';
import { loadConfig } from '../../src/config.js';
import { logger } from '../../src/logger.js';
import { CHAOS_ENV, CHAOS_TIMINGS, type ChaosOrder, ORDERS_DB, type OrderCommand, report } from './protocol.js';

const config = loadConfig();
const log = logger.child({ component: 'chaos-order-service' });
const url = new URL(config.databaseUrl);
url.pathname = `/${ORDERS_DB}`;
const pool = mysql.createPool({ uri: url.toString(), connectionLimit: 8, connectTimeout: 5000 });
const client = await ReliableMessageClient.connect({
  temporal: config.temporal,
  taskQueue: config.temporal.taskQueue,
  producerGroup: ORDER_SERVICE,
  log,
});
const orders = createOrderService(client, pool, CHAOS_TIMINGS);
if (process.env[CHAOS_ENV.serveCheckBack] === '1') await orders.serveCheckBack();

/** The local-transaction helper, timed from the end of the business (just before COMMIT) to the confirm's return. */
async function place(order: ChaosOrder): Promise<void> {
  let businessDone = 0;
  try {
    await client.withReliableMessage(
      pool,
      { key: order.id, topic: ORDER_TOPIC, tag: 'created', body: JSON.stringify(order), timings: CHAOS_TIMINGS },
      async (conn) => {
        await conn.query('INSERT INTO orders (id, sku, quantity) VALUES (?, ?, ?)', [
          order.id,
          order.sku,
          order.quantity,
        ]);
        if (order.kind === 'rollback') throw new Error(`order ${order.id} rolled back (injected)`);
        businessDone = Date.now();
      },
    );
    report({ type: 'placed', id: order.id, outcome: 'committed', confirmMs: Date.now() - businessDone });
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    const outcome = error.endsWith('rolled back (injected)') ? 'rolledBack' : 'failed';
    report({ type: 'placed', id: order.id, outcome, error });
  }
}

process.on('message', (command: OrderCommand) => {
  if (command.type === 'place') {
    void place(command.order);
    return;
  }
  const die = () => command.type === 'crashAfterCommit' && process.kill(process.pid, 'SIGKILL');
  // Commits the order row, the local message row and the prepared message, and never confirms.
  void orders.placeOrderAndCrashBeforeConfirm(command.order).then(
    () => {
      report({ type: 'placed', id: command.order.id, outcome: 'committed' });
      setTimeout(die, 50); // lets the report leave first
    },
    (err: unknown) => {
      report({ type: 'placed', id: command.order.id, outcome: 'failed', error: String(err) });
      setTimeout(die, 50);
    },
  );
});
process.on('disconnect', () => process.exit(0));
report({ type: 'ready' });
