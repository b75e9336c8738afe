/** Finds the recovery point a request means: by id, or the newest one at or before a time. */
import { TidemarkError } from '../errors';
import type { RecoveryPointCatalog } from './catalog';
import type { RecoveryPoint } from './types';

export type PointSelector = { time: number } | { pointId: string };

export async function resolvePoint(
  catalog: RecoveryPointCatalog,
  resourceGroup: string,
  vm: string,
  at: PointSelector,
): Promise<RecoveryPoint> {
  const vmId = `${resourceGroup}/${vm}`;
  if ('pointId' in at) {
    const point = await catalog.get(resourceGroup, vm, at.pointId);
    if (!point) {
      throw new TidemarkError('NotFound', `${vmId} has no recovery point ${at.pointId}.`, {
        hint: 'List its recovery points and pick one of them.',
        details: { vm: vmId, pointId: at.pointId },
      });
    }
    return point;
  }
  const points = await catalog.list(resourceGroup, vm);
  const point = points.find((p) => p.time <= at.time);
  if (!point) {
    const oldest = points.at(-1);
    throw new TidemarkError(
      'NotFound',
      `${vmId} has no recovery point at or before ${new Date(at.time).toISOString()}.`,
      {
        hint: oldest
          ? `The oldest it can go back to is ${new Date(oldest.time).toISOString()}.`
          : 'It has no recovery points yet.',
        details: { vm: vmId, time: at.time, oldest: oldest?.time },
      },
    );
  }
  return point;
}
