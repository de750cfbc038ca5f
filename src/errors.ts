/** Errors the SDKs, the API and the CLI share. Each has a stable `code`; messages name the key or field. */

/** Input that breaks a rule; `field` names the field, the message names the rule. */
export class ValidationError extends Error {
  readonly code = 'VALIDATION_FAILED';
  constructor(
    readonly field: string,
    readonly rule: string,
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

/** A refusal by the message itself (its workflow), for the message with `key`. */
abstract class MessageRefusal extends Error {
  abstract readonly code: string;
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * The message's first workflow task has not finished (its first write may be retrying a dependency that is
 * down): it has no state to show yet. Asking again later is the answer.
 */
export class MessageOpeningError extends MessageRefusal {
  readonly code = 'MESSAGE_OPENING';

  static of(key: string): MessageOpeningError {
    return new MessageOpeningError(
      key,
      `message ${key} is still opening (its first workflow task has not finished); ask again in a moment`,
    );
  }
}

/** A transition the message's state does not allow, such as confirm after cancel. */
export class InvalidTransitionError extends MessageRefusal {
  readonly code = 'INVALID_TRANSITION';
}

/** A consumer report from a group the message was not published to. */
export class NotASubscriberError extends MessageRefusal {
  readonly code = 'NOT_A_SUBSCRIBER';
}

/** A second prepare or send with a key already used by a message with other content. */
export class KeyConflictError extends Error {
  readonly code = 'KEY_CONFLICT';
  constructor(readonly key: string) {
    super(
      `key ${key} is already used by a message with other content (topic, tag, body, properties, group, delay, ` +
        'order key or timings); one key is one message: use a new key',
    );
    this.name = 'KeyConflictError';
  }
}

/** A key that was already used by an earlier message that is past waiting for its confirm. */
export class KeyReusedError extends MessageRefusal {
  readonly code = 'KEY_REUSED';

  /** The key belongs to an earlier message, still in MySQL (live or archived), whose workflow is gone. */
  static ofEarlierMessage(key: string, earlier: { createdAt: Date; status: string }): KeyReusedError {
    return new KeyReusedError(
      key,
      `key ${key} belongs to an earlier message (created ${earlier.createdAt.toISOString()}, ${earlier.status}); ` +
        'one key is one message: send it under a new key',
    );
  }
}

/**
 * The local transaction's COMMIT was sent but its answer was lost (the connection broke): the business may
 * or may not have committed. The message is left waiting; its check-back answers from the local table.
 */
export class CommitOutcomeUnknownError extends Error {
  readonly code = 'COMMIT_OUTCOME_UNKNOWN';
  constructor(
    readonly key: string,
    override readonly cause: unknown,
  ) {
    super(
      `the local transaction for message ${key} may or may not have committed (${cause instanceof Error ? cause.message : String(cause)}); ` +
        'the message was not cancelled: the check-back will confirm it if the commit landed',
    );
    this.name = 'CommitOutcomeUnknownError';
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
