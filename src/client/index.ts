export { InvalidTransitionError, MessageNotFoundError, ValidationError } from '../errors.js';
export type { CheckBackHandler, CheckBackServer } from './check-back-server.js';
export { LOCAL_MESSAGE_TABLE } from './local-transaction.js';
export { type ClientOptions, type MessageInput, type PrepareResult, ReliableMessageClient } from './reliable-message-client.js';
