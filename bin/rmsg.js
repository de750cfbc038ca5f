#!/usr/bin/env node
// Runs the compiled CLI (`npm run build` writes dist/). In a development checkout that was never
// built, falls back to running the TypeScript sources through tsx (a dev dependency).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const compiled = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
if (existsSync(compiled)) {
  await import(compiled);
} else {
  const tsx = createRequire(import.meta.url).resolve('tsx/cli');
  const main = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
  const result = spawnSync(process.execPath, [tsx, main, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(result.status ?? 1);
}
