import { ApplicationFailure } from '@temporalio/activity';
import type { ProjectionWrite } from '../src/db/projection-writer.js';
import type { DependencyGate } from '../src/dependency-gate.js';
import { KeyReusedError } from '../src/errors.js';
import { observeEvents } from '../src/metrics.js';
import { FailureType } from '../workflows/definitions.js';
import type { ActivityDeps } from './deps.js';

type WritingDeps = Pick<ActivityDeps, 'projections'> & { mysql: DependencyGate };

/**
 * One projection write, grouped with other workflows' writes (see ProjectionWriter). A first write whose
 * key belongs to an earlier message (its workflow past Temporal's retention) writes nothing and says why:
 * one key is one message.
 */
export function projectionWriting({ projections, mysql }: WritingDeps) {
  return async (write: ProjectionWrite): Promise<{ keyReused?: string }> => {
    const outcome = await mysql.call(() => projections.write(write));
    if (outcome.kind === 'keyReused') {
      return { keyReused: KeyReusedError.ofEarlierMessage(write.state.key, outcome.earlier).message };
    }
    // The version guard turns a retry of a committed write into a no-op, so these events are counted once.
    if (outcome.newEvents > 0) observeEvents(write.state, write.events);
    return {};
  };
}

/** Why a message created at `createdAt` may not have `key` (an earlier message holds it), or undefined. */
export function keyReuseReading({ projections, mysql }: WritingDeps) {
  return async (key: string, createdAt: number): Promise<string | undefined> => {
    const earlier = await mysql.call(() => projections.earlierMessage(key, createdAt));
    return earlier && KeyReusedError.ofEarlierMessage(key, earlier).message;
  };
}

/** The workflow's projection writes; a reused key is a refusal no retry cures. */
export function createProjectionActivities(deps: WritingDeps) {
  const writeProjection = projectionWriting(deps);
  return {
    async syncProjection(write: ProjectionWrite): Promise<void> {
      const { keyReused } = await writeProjection(write);
      if (keyReused !== undefined) {
        throw ApplicationFailure.create({ type: FailureType.keyReused, nonRetryable: true, message: keyReused });
      }
    },
  };
}
