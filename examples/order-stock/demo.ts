import { randomUUID } from 'node:crypto';
import mysql, { type Pool, type RowDataPacket } from 'mysql2/promise';
import { ReliableMessageClient } from '../../src/client/index.js';
import type { Config } from '../../src/config.js';
import type { ReliableConsumer } from '../../src/consumer/index.js';
import type { Logger } from '../../src/logger.js';
import { ensureTopic } from '../../src/rocketmq/topics.js';
import type { Timings } from '../../workflows/definitions.js';
import { createOrderService, ORDER_SCHEMA, ORDER_TOPIC, type Order } from './order-service.js';
import { STOCK_SCHEMA, startStockService } from './stock-service.js';

export interface DemoSummary {
  orders: number;
  finished: number;
  stockMoves: number;
  stockDecrement: number;
  orderedQuantity: number;
  consistent: boolean;
  sampleKey: string;
}

const SKUS = ['apple', 'pear', 'plum'];
const INITIAL_STOCK = 100_000;

/**
 * The order/stock scenario end to end, with injected trouble: one order's process dies
 * between commit and confirm (the check-back delivers it), the stock service is down for a while
 * (resends deliver), and one stock handler fails once (redelivery). Ends with orders == stock moves.
 */
export async function runOrderStockDemo(opts: {
  config: Config;
  log: Logger;
  orders?: number;
  /** Millisecond timings so the trouble resolves within seconds (tests). */
  short?: boolean;
  print?: (line: string) => void;
}): Promise<DemoSummary> {
  const print = opts.print ?? ((line: string) => console.log(line));
  const total = opts.orders ?? 30;
  const timings: Partial<Timings> = opts.short
    ? { checkBackAfterMs: 500, resendAfterMs: 1500, resendBackoff: 1.5, maxResendIntervalMs: 5000 }
    : { checkBackAfterMs: 2000, resendAfterMs: 3000, resendBackoff: 1.5, maxResendIntervalMs: 10_000 };
  const run = randomUUID().slice(0, 6);
  const orders: Order[] = Array.from({ length: total }, (_, i) => ({
    id: `order-${run}-${String(i + 1).padStart(3, '0')}`,
    sku: SKUS[i % SKUS.length] as string,
    quantity: 1 + (i % 3),
  }));
  const crashing = orders[1] as Order;
  const failing = new Set([orders[0]?.id ?? '']);

  const orderDb = await businessDatabase(opts.config, 'rmsg_example_orders', ORDER_SCHEMA);
  const stockDb = await businessDatabase(opts.config, 'rmsg_example_stock', STOCK_SCHEMA);
  for (const sku of SKUS) {
    await stockDb.query('INSERT INTO stock VALUES (?, ?) ON DUPLICATE KEY UPDATE quantity = VALUES(quantity)', [
      sku,
      INITIAL_STOCK,
    ]);
  }
  await ensureTopic(opts.config.rocketmq, ORDER_TOPIC, 'NORMAL');

  const client = await ReliableMessageClient.connect({
    temporal: opts.config.temporal,
    taskQueue: opts.config.temporal.taskQueue,
    producerGroup: 'order-service',
    log: opts.log,
  });
  const orderService = createOrderService(client, orderDb, timings);
  const checkBack = await orderService.serveCheckBack();
  let stock: ReliableConsumer | undefined = await startStockService({
    pool: stockDb,
    config: opts.config,
    log: opts.log,
    failOnce: failing,
  });

  const finished = new Set<string>();
  const progress = setInterval(() => void report(), 1000);
  const report = async () => {
    for (const o of orders) {
      if (finished.has(o.id)) continue;
      const s = await client.get(o.id).catch(() => undefined);
      if (s?.status === 'FINISHED') finished.add(o.id);
    }
    print(
      `  orders placed ${placed}/${total} · delivered (FINISHED) ${finished.size} · stock service ${stock ? 'up' : 'DOWN'}`,
    );
  };

  let placed = 0;
  try {
    print(
      `order/stock demo ${run}: ${total} orders; trouble: ${crashing.id} crashes before confirm, ${[...failing][0]} fails once, the stock service goes down for a while`,
    );
    const third = Math.ceil(total / 3);
    for (const [i, order] of orders.entries()) {
      if (i === third && stock) {
        print('  ! stock service goes down');
        await stock.stop();
        stock = undefined;
      }
      if (i === 2 * third) {
        await sleep((timings.resendAfterMs ?? 3000) * 1.5);
        print('  ! stock service comes back');
        stock = await startStockService({ pool: stockDb, config: opts.config, log: opts.log, failOnce: failing });
      }
      if (order === crashing) await orderService.placeOrderAndCrashBeforeConfirm(order);
      else await orderService.placeOrder(order);
      placed++;
    }
    if (!stock)
      stock = await startStockService({ pool: stockDb, config: opts.config, log: opts.log, failOnce: failing });
    const deadline = Date.now() + 120_000;
    while (finished.size < total && Date.now() < deadline) {
      await report();
      await sleep(500);
    }
  } finally {
    clearInterval(progress);
  }

  const ids = orders.map((o) => o.id);
  const [[moves]] = await stockDb.query<RowDataPacket[]>(
    'SELECT COUNT(*) AS n, COALESCE(SUM(quantity), 0) AS q FROM stock_moves WHERE order_id IN (?)',
    [ids],
  );
  const [[placedRows]] = await orderDb.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM orders WHERE id IN (?)', [
    ids,
  ]);
  const [stockRows] = await stockDb.query<RowDataPacket[]>('SELECT COALESCE(SUM(quantity), 0) AS q FROM stock');
  const orderedQuantity = orders.reduce((s, o) => s + o.quantity, 0);
  const summary: DemoSummary = {
    orders: Number(placedRows?.n),
    finished: finished.size,
    stockMoves: Number(moves?.n),
    stockDecrement: SKUS.length * INITIAL_STOCK - Number(stockRows[0]?.q),
    orderedQuantity,
    consistent: false,
    sampleKey: crashing.id,
  };
  summary.consistent =
    summary.orders === total &&
    summary.stockMoves === total &&
    summary.stockDecrement === orderedQuantity &&
    summary.finished === total;

  print('');
  print(
    `summary: ${summary.orders} orders, ${summary.stockMoves} stock moves, stock decremented by ${summary.stockDecrement} (ordered ${orderedQuantity}), ${summary.finished} messages FINISHED -> ${summary.consistent ? 'CONSISTENT' : 'NOT CONSISTENT'}`,
  );
  print(`look at ${crashing.id} (it crashed before confirm; the check-back delivered it):`);
  print(
    `  Temporal UI  ${opts.config.temporal.uiUrl}/namespaces/${opts.config.temporal.namespace}/workflows?query=MessageKey%3D%22${crashing.id}%22`,
  );
  print(
    `  HTTP API     curl -H "Authorization: Bearer $RMSG_API_READ_TOKEN" http://127.0.0.1:8090/v1/messages/${crashing.id}`,
  );
  print(`  CLI          npx rmsg show ${crashing.id}`);

  await stock?.stop();
  await checkBack.stop();
  await client.close();
  await orderDb.end();
  await stockDb.end();
  return summary;
}

async function businessDatabase(config: Config, name: string, schema: string[]): Promise<Pool> {
  const url = new URL(config.databaseUrl);
  const admin = await mysql.createConnection({ uri: new URL('/', url).toString() });
  await admin.query(`CREATE DATABASE IF NOT EXISTS ${mysql.escapeId(name)}`);
  await admin.end();
  url.pathname = `/${name}`;
  const pool = mysql.createPool({ uri: url.toString(), connectionLimit: 8 });
  for (const ddl of schema) await pool.query(ddl);
  return pool;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
