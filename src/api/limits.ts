import { MAX_BODY_BYTES } from '../message-spec.js';

/**
 * Room for the largest message body (1 MiB once JSON-encoded, checked per field) plus the other
 * fields; anything larger is refused before it is parsed.
 */
export const MAX_REQUEST_BYTES = MAX_BODY_BYTES + 256 * 1024;
