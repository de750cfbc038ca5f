import type { Client } from '@temporalio/client';
import type { Config } from '../src/config.js';
import type { PrismaClient } from '../src/db/prisma.js';
import type { ProjectionWriter } from '../src/db/projection-writer.js';
import type { SubscriberSnapshots } from '../src/db/registry.js';
import type { Logger } from '../src/logger.js';
import type { MessagePublisher } from '../src/rocketmq/publisher.js';

/** Everything the activities touch, passed in so it is easy to see and to swap. */
export interface ActivityDeps {
  prisma: PrismaClient;
  /** The workflows' projection writes, grouped (the hot path; Prisma serves the rest). */
  projections: ProjectionWriter;
  /** Messages' subscribers as they are confirmed (the hot path's one read). */
  subscribers: SubscriberSnapshots;
  publisher: MessagePublisher;
  config: Config;
  log: Logger;
  /** For the operator activities (redrive, audit), which act on other workflows. */
  temporal: Client;
}
