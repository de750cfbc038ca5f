import type { Client } from '@temporalio/client';
import type { Config } from '../config.js';
import type { PrismaClient } from '../db/prisma.js';
import type { Logger } from '../logger.js';

/** What the API uses, passed in so tests can give their own. */
export interface ApiDeps {
  config: Config;
  prisma: PrismaClient;
  temporal: Client;
  log: Logger;
}
