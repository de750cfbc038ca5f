import type { Pool, PoolConnection } from 'mysql2/promise';
import type { ReliableMessageClient } from '../../src/client/index.js';
import type { Timings } from '../../workflows/definitions.js';

export const ORDER_TOPIC = 'order-events';
export const ORDER_SERVICE = 'order-service';

export interface Order {
  id: string;
  sku: string;
  quantity: number;
}

export const ORDER_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS orders (
     id VARCHAR(64) PRIMARY KEY, sku VARCHAR(64) NOT NULL, quantity INT NOT NULL,
     created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3))`,
];

/**
 * The upstream of the order/stock example: creating an order and announcing it happen together or not at all.
 * The order row and the SDK's local message row commit in one transaction; the message is confirmed
 * after commit, and the check-back answers from the local table if the confirm never arrives.
 */
export function createOrderService(client: ReliableMessageClient, pool: Pool, timings?: Partial<Timings>) {
  const message = (order: Order) => ({
    key: order.id,
    topic: ORDER_TOPIC,
    tag: 'created',
    body: JSON.stringify(order),
    timings,
  });
  const insertOrder = (conn: PoolConnection, order: Order) =>
    conn.query('INSERT INTO orders (id, sku, quantity) VALUES (?, ?, ?)', [order.id, order.sku, order.quantity]);
  return {
    serveCheckBack: () => client.serveCheckBack(ORDER_SERVICE, { pool }),

    placeOrder: (order: Order) =>
      client.withReliableMessage(pool, message(order), async (conn) => {
        await insertOrder(conn, order);
      }),

    /** Injected trouble: the order commits, then the process "dies" before confirming. */
    async placeOrderAndCrashBeforeConfirm(order: Order): Promise<void> {
      const conn = await pool.getConnection();
      try {
        await conn.beginTransaction();
        await conn.query('INSERT INTO rmsg_producer_message (message_key, producer_group) VALUES (?, ?)', [
          order.id,
          ORDER_SERVICE,
        ]);
        await client.prepare(message(order));
        await insertOrder(conn, order);
        await conn.commit();
      } finally {
        conn.release();
      }
    },
  };
}
