import { runOrderStockDemo } from '../../examples/order-stock/demo.js';
import type { Config } from '../config.js';
import { logger } from '../logger.js';

/**
 * `npm start`: once the service is up, runs the order/stock example against it and prints its
 * progress and summary; the service keeps serving afterwards until Ctrl-C.
 */
export async function runExampleWhileServing(config: Config): Promise<void> {
  await new Promise((r) => setTimeout(r, 1000)); // let the worker start polling
  try {
    const summary = await runOrderStockDemo({
      config,
      log: logger.child({ component: 'example' }),
      print: (line) => process.stdout.write(`${line}\n`),
    });
    process.stdout.write(
      `\nexample done (${summary.consistent ? 'consistent' : 'NOT consistent'}); the service keeps running: Ctrl-C to stop\n`,
    );
  } catch (err) {
    logger.error({ err }, 'the order/stock example failed');
  }
}
