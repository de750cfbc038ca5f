import { pino } from 'pino';
import type { Logger } from '../../src/logger.js';

export interface LogLine {
  level: number;
  msg: string;
  consumerGroup?: string;
  messageKey?: string;
  [field: string]: unknown;
}

/**
 * A pino logger whose lines are kept for assertions (warnings and errors are also printed), so a test
 * can see what a consumer did without test-only hooks in the SDK.
 */
export class LogCapture {
  readonly lines: LogLine[] = [];
  readonly log: Logger;

  constructor() {
    this.log = pino(
      { level: 'debug', base: { test: true } },
      {
        write: (line: string) => {
          const parsed = JSON.parse(line) as LogLine;
          this.lines.push(parsed);
          if (parsed.level >= 40) process.stdout.write(line);
        },
      },
    ) as unknown as Logger;
  }

  /** Lines about one message key, optionally with one message text. */
  forKey(key: string, msg?: string | RegExp): LogLine[] {
    return this.lines.filter(
      (l) => l.messageKey === key && (msg === undefined || (typeof msg === 'string' ? l.msg === msg : msg.test(l.msg))),
    );
  }

  /** Lines of one consumer group, optionally with one message text. */
  forGroup(group: string, msg?: string): LogLine[] {
    return this.lines.filter((l) => l.consumerGroup === group && (msg === undefined || l.msg === msg));
  }
}

/** A promise with its resolver, to hold a handler until the test lets it go. */
export function latch(): { promise: Promise<void>; release(): void } {
  let release!: () => void;
  const promise = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { promise, release };
}
