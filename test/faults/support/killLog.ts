/** A record of the host kills a fault test made, printed as a table at the end. */
import { BlobServiceClient } from '@azure/storage-blob';

import { CONTAINERS } from '../../../shared/storageNames';

export interface Kill {
  n: number;
  phase: string;
  /** The job step in progress, or what the kill was aimed at. */
  at: string;
  /** The dead host held the VM's lease (replication of the VM waits for it to expire, ≤ 30 s). */
  leaseHeld: boolean;
  /** From SIGKILL to the new host's "Host ready". */
  downMs: number;
  /** From SIGKILL until the checks after the restart passed. */
  recoveredMs?: number;
}

export class KillLog {
  readonly kills: Kill[] = [];

  count(phase?: string): number {
    return phase === undefined ? this.kills.length : this.kills.filter((k) => k.phase === phase).length;
  }

  add(kill: Omit<Kill, 'n'>): Kill {
    const entry = { n: this.kills.length + 1, ...kill };
    this.kills.push(entry);
    console.log(
      `[faults] kill #${entry.n} ${entry.phase}: ${entry.at}${entry.leaseHeld ? ' (VM lease held)' : ''}; host back in ${entry.downMs} ms`,
    );
    return entry;
  }

  summary(): string {
    const phases = [...new Set(this.kills.map((k) => k.phase))];
    const lines = phases.map((phase) => {
      const ks = this.kills.filter((k) => k.phase === phase);
      const recovered = ks.map((k) => k.recoveredMs).filter((v): v is number => v !== undefined);
      const worst = recovered.length ? Math.max(...recovered) : undefined;
      return `  ${phase}: ${ks.length} kills, ${ks.filter((k) => k.leaseHeld).length} with the VM lease held, steps: ${[...new Set(ks.map((k) => k.at))].join(' | ')}${worst === undefined ? '' : `; slowest recovery ${worst} ms`}`;
    });
    return [`[faults] ${this.kills.length} host kills`, ...lines].join('\n');
  }
}

/** Whether the VM's lock blob is leased right now (after a kill: the dead host held it). */
export async function leaseHeld(
  targetConnection: string,
  resourceGroup: string,
  vm: string,
): Promise<boolean> {
  try {
    const props = await BlobServiceClient.fromConnectionString(targetConnection)
      .getContainerClient(CONTAINERS.locks)
      .getBlobClient(`${resourceGroup}/${vm}`)
      .getProperties();
    return props.leaseState === 'leased';
  } catch {
    return false;
  }
}
