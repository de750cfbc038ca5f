export { registerWorkflow } from './register.js';
export { reliableMessageWorkflow } from './reliable-message.js';
