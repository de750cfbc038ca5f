import { createRegistry } from '../src/db/registry.js';
import { DependencyGate } from '../src/dependency-gate.js';
import { resolveTimings } from '../src/timings.js';
import type { Timings } from '../workflows/definitions.js';
import { createAuditActivities } from './audit.js';
import { createCheckBackActivities } from './check-back.js';
import type { ActivityDeps } from './deps.js';
import { createFirstPublicationActivities } from './first-publication.js';
import { createHousekeepingActivities } from './housekeeping.js';
import { createOpenMessageActivities } from './open-message.js';
import { createProjectionActivities, keyReuseReading, projectionWriting } from './projection.js';
import { createPublishActivities, type PublishInput } from './publish.js';
import { createRedriveActivities } from './redrive.js';
import { createRegistrationActivities } from './registration.js';
import { createSubscriberActivities } from './subscribers.js';

export type { ActivityDeps } from './deps.js';

/**
 * All activities of the service worker, bound to their dependencies. `wrap` (fault injection in tests)
 * wraps them before the worker runs them; the first task's publication goes through the wrapped
 * publishMessage like every other.
 */
export function createActivities(
  deps: ActivityDeps,
  wrap: (activities: Activities) => Activities = (a) => a,
): Activities {
  const activities: Activities = wrap(boundActivities(deps, (input) => activities.publishMessage(input)));
  return activities;
}

function boundActivities(deps: ActivityDeps, publishMessage: (input: PublishInput) => Promise<{ messageId: string }>) {
  // Inside the bounds of the local activities that use them (2 s, and 1.5 s for publishing).
  const mysql = new DependencyGate('mysql', deps.log, { callTimeoutMs: 1500, probeIntervalMs: 1000 });
  const rocketmq = new DependencyGate('rocketmq', deps.log, { callTimeoutMs: 1200, probeIntervalMs: 1000 });
  const registry = createRegistry(deps.prisma);
  const subscribers = createSubscriberActivities({ subscribers: deps.subscribers, mysql });
  const writeProjection = projectionWriting({ ...deps, mysql });
  /** The message's timings: the global defaults with its own overrides on top. */
  const timings = {
    async resolveTimings(overrides: Partial<Timings>): Promise<Timings> {
      return resolveTimings(deps.config.timings, overrides, deps.config.timingFloorMs);
    },
  };
  return {
    ...createProjectionActivities({ ...deps, mysql }),
    ...subscribers,
    ...timings,
    ...createOpenMessageActivities({
      ...subscribers,
      ...timings,
      writeProjection,
      publishMessage,
      keyReusedBy: keyReuseReading({ ...deps, mysql }),
    }),
    ...createFirstPublicationActivities({ ...subscribers, writeProjection, publishMessage }),
    ...createPublishActivities({ ...deps, rocketmq }),
    ...createCheckBackActivities({ ...deps, registry, mysql }),
    ...createRegistrationActivities({ registry }),
    ...createHousekeepingActivities(deps),
    ...createRedriveActivities(deps),
    ...createAuditActivities(deps),
  };
}

export type Activities = ReturnType<typeof boundActivities>;
