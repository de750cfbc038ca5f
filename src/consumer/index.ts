export { serveConsumerCheckBack } from './check-back-server.js';
export { CONSUMED_TABLE, purgeConsumedMessages } from './idempotency.js';
export {
  type ConsumeContext,
  type ConsumedMessage,
  type MessageHandler,
  ReliableConsumer,
  type ReliableConsumerOptions,
} from './reliable-consumer.js';
