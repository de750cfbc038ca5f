export { InvalidTransitionError, MessageNotFoundError, TopicMismatchError, ValidationError } from '../errors.js';
export type { CheckBackHandler, CheckBackOptions, CheckBackServer, LocalTableCheckBack } from './check-back-server.js';
export { LOCAL_MESSAGE_TABLE, purgeLocalMessages } from './local-table.js';
export {
  type ClientOptions,
  type MessageInput,
  type PrepareResult,
  ReliableMessageClient,
} from './reliable-message-client.js';
