#!/usr/bin/env node
import { loadConfig } from '../config.js';
import { logger } from '../logger.js';
import { runService } from '../worker/run-service.js';

const USAGE = `rmsg: the reliable-message service

Usage: rmsg <command>

Processes:
  start     run the service (worker; later also the HTTP API)
  worker    run the Temporal worker only

Configuration comes from the environment (see src/config.ts and the README).`;

async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  switch (command) {
    case 'start':
    case 'worker':
      await runService(loadConfig(), logger);
      return 0;
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      console.log(USAGE);
      return 0;
    default:
      console.error(`rmsg: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    logger.error({ err }, 'rmsg failed');
    process.exit(1);
  },
);
