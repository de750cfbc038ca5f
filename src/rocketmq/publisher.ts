import { Producer } from 'rocketmq-client-nodejs';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { rocketmqClientLogger } from './client-logger.js';
import { rocketmqClientOptions } from './client-options.js';

export interface Publication {
  topic: string;
  tag?: string;
  keys: string[];
  body: Buffer;
  properties: Record<string, string>;
  delayMs?: number;
  /** FIFO message group. */
  messageGroup?: string;
}

/** What activities need from RocketMQ: send one message, get its id. Easy to swap in tests of logic. */
export interface MessagePublisher {
  publish(p: Publication): Promise<{ messageId: string }>;
  close(): Promise<void>;
}

/** One long-lived rocketmq-client-nodejs Producer, started on first use. */
export function createRocketmqPublisher(
  opts: Pick<Config['rocketmq'], 'endpoints'> & Partial<Config['rocketmq']> & { log: Logger },
): MessagePublisher {
  let started: Promise<Producer> | undefined;
  const producer = () => {
    started ??= (async () => {
      const p = new Producer({
        ...rocketmqClientOptions(opts),
        logger: rocketmqClientLogger(opts.log),
        maxAttempts: 2,
      });
      await p.startup();
      return p;
    })().catch((err) => {
      started = undefined; // try again on the next publish
      throw err;
    });
    return started;
  };
  return {
    async publish(p) {
      const receipt = await (await producer()).send({
        topic: p.topic,
        tag: p.tag,
        keys: p.keys,
        body: p.body,
        properties: new Map(Object.entries(p.properties)),
        messageGroup: p.messageGroup,
        delay: p.delayMs,
      });
      return { messageId: receipt.messageId };
    },
    async close() {
      if (started) await (await started.catch(() => undefined))?.shutdown();
      started = undefined;
    },
  };
}
