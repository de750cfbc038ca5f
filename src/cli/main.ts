#!/usr/bin/env node
import { startApi, untilSignal } from '../api/start.js';
import { type Config, loadConfig } from '../config.js';
import { logger } from '../logger.js';
import { startTracing } from '../tracing.js';
import { runService } from '../worker/run-service.js';
import { runExampleWhileServing } from './example.js';
import { ExitCode, exitCodeFor, OPERATOR_COMMANDS } from './operator-commands.js';
import { REDRIVE_COMMANDS } from './redrive-commands.js';

const USAGE = `rmsg: the reliable-message service

Usage: rmsg <command> [options]

Operators (through the HTTP API: RMSG_API_URL, RMSG_API_TOKEN):
  list [--status S] [--topic T] [--producer-group G] [--consumer-group G]
       [--from ISO] [--to ISO] [--limit N] [--cursor C] [--json]
                          messages, newest first
  show KEY [--json]       state, deliveries, events, and the workflow in Temporal UI
  resend KEY              a DEAD message gets a fresh send budget
  confirm KEY             confirm an unconfirmed (or DEAD UNCONFIRMED) message, as the operator
  cancel KEY [--reason R] cancel an unconfirmed message, as the operator
  repair KEY              a stuck message: end its run, start a fresh one from its projection
  stats [--json]          counts by status, topic and consumer group
  token create --role R [--group G] [--label L]
                          a token for operator, producer or consumer (of group G), reader;
                          printed once, only its hash is kept
  token list              every token (never the tokens themselves)
  token revoke ID         the token stops working at once
  triage [--topic T] [--json]
                          DEAD messages grouped by reason, topic, group and error class
  redrive [--status S] [--reason R] [--topic T] [--consumer-group G] [--from ISO] [--to ISO]
          [--error-class C] [--action resend|confirm|cancel] [--rate N] [--by NAME]
          [--dry-run] [--no-wait] [--json]
                          act on every message of a selection (default: resend all DEAD),
                          at N a second, printing progress; --dry-run counts and samples
  redrives [ID] [--limit N] [--json]
                          recent redrives (who, when, filter, how many), or one
  audit [--from ISO] [--to ISO] [--repair] [--json]
                          compare projections with Temporal (default: the last 24 h);
                          --repair re-syncs diverged and missing rows from their workflow

Processes:
  start [--example]       the worker and the HTTP API in one process; --example also runs
                          the order/stock example (what \`npm start\` does)
  worker                  the Temporal worker only
  api                     the HTTP API only (RMSG_API_HOST, RMSG_API_PORT, RMSG_API_*_TOKEN)

Exit codes: 0 ok, 1 failed, 2 usage, 3 not found, 4 invalid transition, 5 unauthorized,
6 the audit left findings.
Configuration comes from the environment (see src/config.ts and the README).`;

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  const operator = command ? (OPERATOR_COMMANDS[command] ?? REDRIVE_COMMANDS[command]) : undefined;
  if (operator) {
    try {
      await operator(args, loadConfig(), (line) => console.log(line));
      return ExitCode.ok;
    } catch (err) {
      const { code, message } = exitCodeFor(err);
      console.error(`rmsg ${command}: ${message}`);
      if (code === ExitCode.usage) console.error('(rmsg --help for usage)');
      return code;
    }
  }
  const serving = command === 'start' || command === 'worker' || command === 'api';
  if (!serving) return helpOrUsage(command);
  const config = loadConfig();
  const stopTracing = startTracing(config.tracing);
  try {
    return await serve(command, args, config);
  } finally {
    await stopTracing(); // flushes the spans still buffered
  }
}

async function serve(command: 'start' | 'worker' | 'api', args: string[], config: Config): Promise<number> {
  switch (command) {
    case 'start': {
      // The API binds first, so a taken port or an unsafe host fails before the worker starts.
      const api = await startApi(config, logger);
      void untilSignal(logger).then(() => api.close());
      if (args.includes('--example')) void runExampleWhileServing(config);
      try {
        await runService(config, logger); // returns once a signal has drained the worker
      } finally {
        await api.close();
      }
      return 0;
    }
    case 'worker':
      await runService(config, logger);
      return 0;
    case 'api': {
      const api = await startApi(config, logger);
      await untilSignal(logger);
      await api.close();
      return 0;
    }
  }
}

function helpOrUsage(command: string | undefined): number {
  switch (command) {
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
