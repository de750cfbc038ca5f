export { auditWorkflow } from './audit.js';
export { housekeepingWorkflow } from './housekeeping.js';
export { redriveWorkflow } from './redrive.js';
export { registerWorkflow } from './register.js';
export { reliableMessageWorkflow } from './reliable-message.js';
