import { defineConfig } from 'vitest/config';

/** Options every layer shares; `npm run test:unit` (vitest.unit.config.ts) runs test/unit with them. */
export const sharedTestOptions = {
  testTimeout: 60_000,
  hookTimeout: 120_000,
  pool: 'forks',
  fileParallelism: false,
} as const;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    ...sharedTestOptions,
  },
});
