import type { Timings } from '../workflows/definitions.js';
import { createAuditActivities } from './audit.js';
import { createCheckBackActivities } from './check-back.js';
import type { ActivityDeps } from './deps.js';
import { createHousekeepingActivities } from './housekeeping.js';
import { createProjectionActivities } from './projection.js';
import { createPublishActivities } from './publish.js';
import { createRedriveActivities } from './redrive.js';
import { createRegistrationActivities } from './registration.js';
import { createSubscriberActivities } from './subscribers.js';
import { resolveTimings } from './timings.js';

export type { ActivityDeps } from './deps.js';

/** All activities of the service worker, bound to their dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createProjectionActivities(deps),
    ...createSubscriberActivities(deps),
    ...createPublishActivities(deps),
    ...createCheckBackActivities(deps),
    ...createRegistrationActivities(deps),
    ...createHousekeepingActivities(deps),
    ...createRedriveActivities(deps),
    ...createAuditActivities(deps),
    /** The message's timings: the global defaults with its own overrides on top. */
    async resolveTimings(overrides: Partial<Timings>): Promise<Timings> {
      return resolveTimings(deps.config.timings, overrides);
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
