/**
 * Stopping a VM for a workflow, in one region's fabric only (the other region may be down), and
 * waiting until its mobility agent has really stopped: locally the VM runner drops the VM's NBD
 * endpoint row once the agent is down (it ships what it journaled first, and closes its disks). In
 * Azure there are no such rows, so the wait ends at once.
 */
import { type Clock, SystemClock } from '../clock';
import { isTidemarkError } from '../errors';
import type { AgentEndpointStore } from '../fabric/agentEndpoints';
import type { FabricStore } from '../fabric/fabricStore';
import type { PowerState, VirtualMachine } from '../fabric/types';

const ATTEMPTS = 10;

/** Sets the VM's power state (ETag-checked, re-read on a concurrent change); undefined when there is no such VM. */
export async function setPowerIn(
  store: FabricStore,
  resourceGroup: string,
  name: string,
  powerState: PowerState,
): Promise<VirtualMachine | undefined> {
  for (let attempt = 1; ; attempt++) {
    const vm = await store.virtualMachines.get(resourceGroup, name);
    if (!vm || vm.powerState === powerState) return vm;
    try {
      return await store.virtualMachines.put({ ...vm, powerState });
    } catch (err) {
      if (!isTidemarkError(err, 'Conflict') || attempt >= ATTEMPTS) throw err;
    }
  }
}

/** Polls until the VM has no published agent endpoint; false when it still has one after `timeoutMs`. */
export async function waitForAgentStopped(
  endpoints: AgentEndpointStore,
  resourceGroup: string,
  name: string,
  options: { timeoutMs: number; pollMs?: number; clock?: Clock },
): Promise<boolean> {
  const clock = options.clock ?? new SystemClock();
  const deadline = clock.now() + options.timeoutMs;
  for (;;) {
    if (!(await endpoints.get(resourceGroup, name))) return true;
    if (clock.now() >= deadline) return false;
    await clock.sleep(options.pollMs ?? 250);
  }
}
