/** Errors the SDKs, the API and the CLI share. Each has a stable `code`; messages name the key or field. */

/** Input that breaks a rule; `field` names the field, the message names the rule. */
export class ValidationError extends Error {
  readonly code = 'VALIDATION_FAILED';
  constructor(
    readonly field: string,
    rule: string,
  ) {
    super(`${field} ${rule}`);
    this.name = 'ValidationError';
  }
}

export class MessageNotFoundError extends Error {
  readonly code = 'MESSAGE_NOT_FOUND';
  constructor(readonly key: string) {
    super(`message ${key} does not exist`);
    this.name = 'MessageNotFoundError';
  }
}

/** A transition the message's state does not allow, such as confirm after cancel. */
export class InvalidTransitionError extends Error {
  readonly code = 'INVALID_TRANSITION';
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(message);
    this.name = 'InvalidTransitionError';
  }
}

/** The message does not fit its topic as RocketMQ has it (missing, or of another message type). */
export class TopicMismatchError extends Error {
  constructor(
    readonly code: 'TOPIC_NOT_FOUND' | 'TOPIC_TYPE_MISMATCH',
    readonly field: string,
    rule: string,
  ) {
    super(`${field} ${rule}`);
    this.name = 'TopicMismatchError';
  }
}
