/**
 * Which recovery point a failover or test failover choice means, given the VM's points (newest
 * first): `latest` and `latestProcessed` the newest (for `latest`, after the cache was drained and a
 * point cut), `latestAppConsistent` the newest app-consistent one, an id that point, a time the newest
 * point at or before it (the journal is then replayed up to the time). Pure: the caller reads the
 * catalog; a choice that no point answers is a NotFound saying what there is.
 */
import { TidemarkError } from '../errors';
import type { RecoveryPointChoice } from '../recoveryPoints/choice';
import type { PointSelector } from '../recoveryPoints/resolvePoint';
import type { RecoveryPoint } from '../recoveryPoints/types';

function none(
  vmId: string,
  what: string,
  hint: string,
  details: Record<string, unknown> = {},
): TidemarkError {
  return new TidemarkError('NotFound', `${vmId} has no ${what}.`, {
    hint,
    details: { vm: vmId, ...details },
  });
}

/** The selector materializeAt takes for `choice`; NotFound when no point of `points` answers it. */
export function pickRecoveryPoint(
  vmId: string,
  points: readonly RecoveryPoint[],
  choice: RecoveryPointChoice,
): PointSelector {
  if (choice === 'latest' || choice === 'latestProcessed') {
    const newest = points[0];
    if (!newest) {
      throw none(
        vmId,
        'recovery point yet',
        'Points are cut every 5 minutes once replication runs; wait for one, or ask for "latest".',
      );
    }
    return { pointId: newest.id };
  }
  if (choice === 'latestAppConsistent') {
    const app = points.find((p) => p.type === 'AppConsistent');
    if (!app) {
      throw none(
        vmId,
        'app-consistent recovery point',
        'Turn app-consistent points on in its replication policy, or choose "latestProcessed".',
      );
    }
    return { pointId: app.id };
  }
  if ('id' in choice) {
    if (!points.some((p) => p.id === choice.id)) {
      throw none(vmId, `recovery point ${choice.id}`, 'List its recovery points and pick one of them.', {
        pointId: choice.id,
      });
    }
    return { pointId: choice.id };
  }
  const time = Date.parse(choice.time);
  if (!points.some((p) => p.time <= time)) {
    const oldest = points.at(-1);
    throw none(
      vmId,
      `recovery point at or before ${new Date(time).toISOString()}`,
      oldest
        ? `The oldest it can go back to is ${new Date(oldest.time).toISOString()}.`
        : 'It has no recovery points yet.',
      { time },
    );
  }
  return { time };
}
