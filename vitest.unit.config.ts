import { defineConfig } from 'vitest/config';
import { sharedTestOptions } from './vitest.config.js';

/**
 * The fast layer: pure logic, and the workflow with fake activities on the local Temporal (no MySQL, no
 * RocketMQ). `npm test` runs these files too, with everything else.
 */
export default defineConfig({
  test: {
    ...sharedTestOptions,
    include: ['test/unit/**/*.test.ts'],
    // These files share no state outside their own modules (the workflow tests have a task queue of their
    // own), so two run at once, and a worker keeps its imports from one file to the next.
    fileParallelism: true,
    maxWorkers: 2,
    isolate: false,
  },
});
