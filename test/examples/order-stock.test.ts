import { describe, expect, it } from 'vitest';
import { runOrderStockDemo } from '../../examples/order-stock/demo.js';
import { startTestService } from '../helpers/service.js';
import { testLogger } from '../helpers/stack.js';

describe('examples/order-stock (short mode)', () => {
  it('ends with every order delivered once: orders == stock moves == decrements', async () => {
    const service = await startTestService();
    const lines: string[] = [];
    try {
      const summary = await runOrderStockDemo({
        config: service.config,
        log: testLogger,
        orders: 9,
        short: true,
        print: (l) => lines.push(l),
      });
      expect(summary).toMatchObject({ orders: 9, stockMoves: 9, finished: 9, consistent: true });
      expect(summary.stockDecrement).toBe(summary.orderedQuantity);
      expect(lines.join('\n')).toMatch(/stock service goes down[\s\S]*stock service comes back[\s\S]*CONSISTENT/);
    } finally {
      await service.stop();
    }
  }, 150_000);
});
