import { ApplicationFailure } from '@temporalio/activity';
import type { Registry } from '../src/db/registry.js';
import { ValidationError } from '../src/errors.js';
import { FailureType, type Registration } from '../workflows/definitions.js';

export function createRegistrationActivities({ registry }: { registry: Registry }) {
  return {
    /** Records an SDK's subscription or check-back (by the registry's rule of who decides what). */
    async register(r: Registration): Promise<void> {
      try {
        await registry.recordSdkRegistration(r);
      } catch (err) {
        // No retry makes a refused registration valid: the SDK gets the reason at once.
        if (err instanceof ValidationError)
          throw ApplicationFailure.create({
            type: FailureType.registrationRefused,
            message: err.message,
            details: [err.field, err.rule],
            nonRetryable: true,
          });
        throw err;
      }
    },
  };
}
