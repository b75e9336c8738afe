/** Rules enable-replication shares between its HTTP route and its prerequisites check. */
import { TidemarkError } from '../errors';
import type { ProtectedItem, ProtectedItemState } from '../protectedItems';

/** States an earlier enable that failed leaves behind; a new enable starts over from them. */
const RESTARTABLE: readonly ProtectedItemState[] = ['Enabling', 'InitialReplication'];

export function canRestartEnable(item: ProtectedItem | undefined): boolean {
  return item === undefined || RESTARTABLE.includes(item.state);
}

/** Conflict when the VM is already protected (in a state a new enable must not overwrite). */
export function checkNotProtected(item: ProtectedItem | undefined): void {
  if (!item || canRestartEnable(item)) return;
  throw new TidemarkError(
    'Conflict',
    `VM ${item.resourceGroup}/${item.vm} is already protected (state ${item.state}, generation ${item.generation}).`,
    {
      hint: 'Disable replication first to enable it again.',
      details: { resourceGroup: item.resourceGroup, vm: item.vm, state: item.state },
    },
  );
}

/** Target names Site Recovery derives from the source's: `<name>-asr`. */
export function asrName(name: string): string {
  return `${name}-asr`;
}
