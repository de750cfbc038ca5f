import type { Pool } from 'mysql2/promise';
import type { Config } from '../../src/config.js';
import { ReliableConsumer } from '../../src/consumer/index.js';
import type { Logger } from '../../src/logger.js';
import { ORDER_TOPIC, type Order } from './order-service.js';

export const STOCK_SERVICE = 'stock-service';

export const STOCK_SCHEMA = [
  'CREATE TABLE IF NOT EXISTS stock (sku VARCHAR(64) PRIMARY KEY, quantity INT NOT NULL)',
  `CREATE TABLE IF NOT EXISTS stock_moves (
     order_id VARCHAR(64) PRIMARY KEY, sku VARCHAR(64) NOT NULL, quantity INT NOT NULL,
     created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3))`,
];

/**
 * The downstream of the order/stock example: decrements stock for each created order, exactly once, with the
 * idempotent consumer (the decrement and the consumed key commit together).
 */
export function startStockService(opts: {
  pool: Pool;
  config: Config;
  log: Logger;
  /** Injected trouble: these orders fail once before they succeed (shared across restarts). */
  failOnce?: Set<string>;
}): Promise<ReliableConsumer> {
  return ReliableConsumer.start({
    group: STOCK_SERVICE,
    topic: ORDER_TOPIC,
    tags: ['created'],
    rocketmq: opts.config.rocketmq,
    temporal: opts.config.temporal,
    serviceTaskQueue: opts.config.temporal.taskQueue,
    idempotency: { pool: opts.pool },
    retryDelayMs: 1000,
    log: opts.log,
    handler: async (message, { conn }) => {
      const order = JSON.parse(message.body) as Order;
      // Deleted when used, so the failure happens once even across restarts of the service.
      if (opts.failOnce?.delete(order.id)) throw new Error(`stock service hiccup on order ${order.id} (injected)`);
      await conn?.query('UPDATE stock SET quantity = quantity - ? WHERE sku = ?', [order.quantity, order.sku]);
      await conn?.query('INSERT INTO stock_moves (order_id, sku, quantity) VALUES (?, ?, ?)', [
        order.id,
        order.sku,
        order.quantity,
      ]);
    },
  });
}
