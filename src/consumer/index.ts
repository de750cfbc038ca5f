export { serveConsumerCheckBack } from './check-back-server.js';
export { HandlerAbortedError, HandlerTransactionEndedError } from './handler-run.js';
export { CONSUMED_TABLE, purgeConsumedMessages } from './idempotency.js';
export type { ConsumeContext, ConsumedMessage, MessageHandler, ReliableConsumerOptions } from './options.js';
export { ReliableConsumer } from './reliable-consumer.js';
