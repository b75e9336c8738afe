/**
 * The per-VM lock: a lease on the blob `locks/{rg}/{vm}` in the target region. Whoever holds it may
 * write the VM's replicas and advance its watermark; recovery-point cuts take it too, so a point is
 * only ever cut between deltas. The lease is renewed while held and released when done; a holder
 * that dies loses it after the lease duration.
 */
import { type ContainerClient, RestError } from '@azure/storage-blob';

import type { Clock, TimerHandle } from '../clock';
import { TidemarkError } from '../errors';

export const LEASE_SECONDS = 30;

export interface HeldLease {
  readonly leaseId: string;
  /** True once renewal failed: stop writing, someone else may hold the lock now. */
  readonly lost: boolean;
  release(): Promise<void>;
}

export class VmLocks {
  constructor(
    private readonly locks: ContainerClient,
    private readonly clock: Clock,
  ) {}

  /**
   * Takes the VM's lease, waiting up to `waitMs` for a current holder to let go; undefined if it did
   * not, or as soon as `stopWaiting` (asked between attempts) says the wait is pointless.
   */
  async acquire(
    resourceGroup: string,
    vm: string,
    waitMs: number,
    stopWaiting?: () => Promise<boolean>,
  ): Promise<HeldLease | undefined> {
    const blob = this.locks.getBlockBlobClient(`${resourceGroup}/${vm}`);
    const deadline = this.clock.now() + waitMs;
    let delay = 50;
    for (;;) {
      const lease = blob.getBlobLeaseClient();
      try {
        await lease.acquireLease(LEASE_SECONDS);
        return this.#held(lease);
      } catch (err) {
        if (err instanceof RestError && err.statusCode === 404) {
          await this.#createLockBlob(blob);
          continue;
        }
        if (!(err instanceof RestError && err.statusCode === 409)) throw err;
      }
      if (this.clock.now() >= deadline) return undefined;
      await this.clock.sleep(delay);
      if (stopWaiting && (await stopWaiting())) return undefined;
      delay = Math.min(delay * 2, 1000);
    }
  }

  async #createLockBlob(blob: ReturnType<ContainerClient['getBlockBlobClient']>): Promise<void> {
    try {
      await this.locks.createIfNotExists();
      await blob.upload('', 0, { conditions: { ifNoneMatch: '*' } });
    } catch (err) {
      if (!(err instanceof RestError && (err.statusCode === 409 || err.statusCode === 412))) throw err;
    }
  }

  #held(
    lease: ReturnType<ReturnType<ContainerClient['getBlockBlobClient']>['getBlobLeaseClient']>,
  ): HeldLease {
    let lost = false;
    let timer: TimerHandle | undefined;
    const renew = (): void => {
      timer = this.clock.setTimer((LEASE_SECONDS * 1000) / 3, () => {
        lease.renewLease().then(renew, () => {
          lost = true;
        });
      });
    };
    renew();
    return {
      leaseId: lease.leaseId,
      get lost() {
        return lost;
      },
      release: async () => {
        timer?.cancel();
        try {
          await lease.releaseLease();
        } catch (err) {
          if (!(err instanceof RestError && (err.statusCode === 409 || err.statusCode === 412))) {
            throw new TidemarkError('StorageUnavailable', 'Could not release a VM lease.', { cause: err });
          }
        }
      },
    };
  }
}
