/**
 * Which recovery point a failover uses (pure). `latest` is made by the "Synchronizing latest data"
 * step (drain, then cut) or falls back to the newest point; the others are found among the VM's
 * points here, and a time is passed on as it is (materializeAt finds the point before it and replays
 * the journal up to it).
 */
import { TidemarkError } from '../errors';
import type { RecoveryPointChoice } from '../recoveryPoints/choice';
import type { PointSelector } from '../recoveryPoints/resolvePoint';
import type { RecoveryPoint } from '../recoveryPoints/types';

/** The choices the "Creating the target disks" step resolves itself. */
export type ResolvableChoice = Exclude<RecoveryPointChoice, 'latest'>;

function noPoint(vmId: string): TidemarkError {
  return new TidemarkError('NotFound', `VM ${vmId} has no recovery point yet.`, {
    hint: 'Wait until the first recovery point is cut (GET …/recovery-points lists them), then fail over again.',
    details: { vm: vmId },
  });
}

/** The newest point (what `latestProcessed` means); NotFound when there is none. */
export function newestPoint(points: readonly RecoveryPoint[], vmId: string): RecoveryPoint {
  const newest = points[0];
  if (!newest) throw noPoint(vmId);
  return newest;
}

/** The point (or time) `choice` means among `points` (newest first); NotFound with a way out otherwise. */
export function selectPoint(
  choice: ResolvableChoice,
  points: readonly RecoveryPoint[],
  vmId: string,
): PointSelector {
  if (choice === 'latestProcessed') return { pointId: newestPoint(points, vmId).id };
  if (choice === 'latestAppConsistent') {
    const point = points.find((p) => p.type === 'AppConsistent');
    if (!point) {
      throw new TidemarkError('NotFound', `VM ${vmId} has no app-consistent recovery point.`, {
        hint: `Fail over to "latestProcessed" (the newest crash-consistent point${points[0] ? `, ${points[0].id}` : ''}), or wait for the next app-consistent point.`,
        details: { vm: vmId, points: points.length },
      });
    }
    return { pointId: point.id };
  }
  if ('id' in choice) {
    if (!points.some((p) => p.id === choice.id)) {
      const newest = points[0];
      throw new TidemarkError('NotFound', `VM ${vmId} has no recovery point ${choice.id}.`, {
        hint: newest
          ? `List its points (GET …/recovery-points); the newest is ${newest.id}.`
          : 'It has no recovery points yet.',
        details: { vm: vmId, pointId: choice.id },
      });
    }
    return { pointId: choice.id };
  }
  if (points.length === 0) throw noPoint(vmId);
  return { time: Date.parse(choice.time) };
}

/** Why `latest` used the newest point instead of a fresh one, as the job and the item's record say it. */
export function latestFallbackNote(reason: string): string {
  return `"latest" fell back to the newest recovery point already processed ("latestProcessed") because ${reason}.`;
}

/** The warning when the source VM could not be shut down; failover goes on regardless. */
export function shutdownWarning(vmId: string, region: string, reason: string): string {
  return `The source VM ${vmId} in ${region} could not be shut down (${reason}); failover went on. Shut it down yourself once ${region} is back, so the two copies never run at once.`;
}
