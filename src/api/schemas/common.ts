import { z } from 'zod';
import { messageKeySchema } from '../../names.js';

export const errorSchema = z
  .object({
    code: z.string().meta({ description: 'Stable error code, e.g. VALIDATION_FAILED, MESSAGE_NOT_FOUND' }),
    message: z.string().meta({ description: 'Names the field and the rule it broke' }),
    field: z.string().optional(),
  })
  .meta({ description: 'Every error the API answers' });

export const keyParams = z.object({ key: messageKeySchema });

/** Timestamps are ISO 8601 strings (UTC) in every response. */
export const isoDate = z.string().meta({ format: 'date-time' });
export const isoDateOrNull = isoDate.nullable();

/** The usual error responses of a route, to spread into its `responses`. */
export const errors = {
  400: { description: 'Invalid input; `field` names it', schema: errorSchema },
  401: { description: 'Missing or invalid bearer token', schema: errorSchema },
  403: {
    description: 'The token lacks the right; the code names it (e.g. PRODUCER_RIGHT_REQUIRED)',
    schema: errorSchema,
  },
};
export const notFound = { 404: { description: 'No such message or registration', schema: errorSchema } };
/** Routes that read a message's state by key, which it has only once its first workflow task finished. */
export const stillOpening = {
  503: {
    description:
      'The message is still opening (MESSAGE_OPENING): its first workflow task has not finished, as while ' +
      'MySQL is down; ask again in a moment',
    schema: errorSchema,
  },
};
