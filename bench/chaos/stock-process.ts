/**
 * A chaos run's stock service, as its own process: the idempotent consumer of the order/stock example,
 * with the injected failures recorded in the stock database so each happens once, across restarts too.
 */
import mysql from 'mysql2/promise';
import { ORDER_TOPIC } from '../../examples/order-stock/order-service.js';
import { STOCK_SERVICE } from '../../examples/order-stock/stock-service.js';
import { loadConfig } from '../../src/config.js';
import { ReliableConsumer } from '../../src/consumer/index.js';
import { logger } from '../../src/logger.js';
import { type ChaosOrder, report, STOCK_DB } from './protocol.js';

const config = loadConfig();
const log = logger.child({ component: 'chaos-stock-service' });
const url = new URL(config.databaseUrl);
url.pathname = `/${STOCK_DB}`;
const pool = mysql.createPool({ uri: url.toString(), connectionLimit: 12, connectTimeout: 5000 });

const consumer = await ReliableConsumer.start({
  group: STOCK_SERVICE,
  topic: ORDER_TOPIC,
  tags: ['created'],
  rocketmq: config.rocketmq,
  temporal: config.temporal,
  serviceTaskQueue: config.temporal.taskQueue,
  idempotency: { pool },
  retryDelayMs: 1000,
  log,
  handler: async (message, { conn }) => {
    const order = JSON.parse(message.body) as ChaosOrder;
    if (order.failOnce) {
      const [res] = await pool.query<mysql.ResultSetHeader>('INSERT IGNORE INTO failed_once VALUES (?)', [order.id]);
      if (res.affectedRows === 1) throw new Error(`stock service hiccup on order ${order.id} (injected)`);
    }
    await conn?.query('UPDATE stock SET quantity = quantity - ? WHERE sku = ?', [order.quantity, order.sku]);
    await conn?.query('INSERT INTO stock_moves (order_id, sku, quantity) VALUES (?, ?, ?)', [
      order.id,
      order.sku,
      order.quantity,
    ]);
  },
});
process.on('disconnect', () => {
  void consumer.stop().finally(() => process.exit(0));
});
report({ type: 'ready' });
