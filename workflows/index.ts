export { housekeepingWorkflow } from './housekeeping.js';
export { registerWorkflow } from './register.js';
export { reliableMessageWorkflow } from './reliable-message.js';
