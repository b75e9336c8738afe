/**
 * The VM's disks as the agent serves them: page blobs found by shared/vmDisks.ts, each a
 * ReplicatedDisk whose index is its lun.
 */
import type { ContainerClient } from '@azure/storage-blob';

import { listVmDisks } from '../shared/vmDisks';
import type { BlockDevice } from './blockDevice';
import type { ChangeJournal } from './changeJournal';
import { PageBlobDisk } from './pageBlobDisk';
import { ReplicatedDisk } from './replicatedDisk';

/** What NBD serves: the replicated disk, counting writes issued while no journal is attached. */
class ServedDisk implements BlockDevice {
  constructor(
    private readonly disk: ReplicatedDisk,
    private readonly onWrite: () => void,
  ) {}

  get name(): string {
    return this.disk.name;
  }

  get size(): number {
    return this.disk.size;
  }

  read(offset: number, length: number): Promise<Buffer> {
    return this.disk.read(offset, length);
  }

  write(offset: number, data: Buffer, options: { fua: boolean }): Promise<void> {
    this.onWrite();
    return this.disk.write(offset, data, options);
  }

  writeZeroes(offset: number, length: number, options: { fua: boolean; mayTrim: boolean }): Promise<void> {
    this.onWrite();
    return this.disk.writeZeroes(offset, length, options);
  }

  trim(offset: number, length: number): Promise<void> {
    this.onWrite();
    return this.disk.trim(offset, length);
  }

  flush(): Promise<void> {
    return this.disk.flush();
  }
}

export class VmDisks {
  readonly #exports: Map<string, BlockDevice>;
  #attached = false;
  #unjournaledWrites = 0;

  /** `disks` ordered by index (lun); names must differ. */
  constructor(readonly disks: readonly ReplicatedDisk[]) {
    const onWrite = (): void => {
      if (!this.#attached) this.#unjournaledWrites++;
    };
    this.#exports = new Map(disks.map((d) => [d.name, new ServedDisk(d, onWrite)]));
  }

  /** Export name → device, for the NBD server; the first (lowest lun) is the default export. */
  get exports(): Map<string, BlockDevice> {
    return this.#exports;
  }

  get names(): string[] {
    return this.disks.map((d) => d.name);
  }

  /** Writes issued while no journal was attached, since the last call. */
  takeUnjournaledWrites(): number {
    const n = this.#unjournaledWrites;
    this.#unjournaledWrites = 0;
    return n;
  }

  /**
   * Attaches `journal` (undefined detaches) on every disk at one instant: the call is queued on all
   * disks in the same tick, and each disk runs its operations one at a time, so every request issued
   * before it completes into the old journal and every one issued after goes to the new one. A write
   * acknowledged before another was issued thus never lands in a later journal, on any disk alike,
   * and each journal stays a crash-consistent sequence. No disk waits for another: each holds new
   * requests only until its own in-flight ones are done. Resolves when the old journal is complete.
   */
  setJournal(journal: ChangeJournal | undefined): Promise<void> {
    this.#attached = journal !== undefined;
    return Promise.all(this.disks.map((d) => d.setJournal(journal))).then(() => undefined);
  }

  /** Resolves once every operation issued before the call, on every disk, is done (and journaled). */
  async flush(): Promise<void> {
    await Promise.all(this.disks.map((d) => d.flush()));
  }
}

/** Discovers the VM's disks under `{CONTAINERS.disks}/{rg}/{vm}/` and opens them. */
export async function openVmDisks(
  container: ContainerClient,
  resourceGroup: string,
  vm: string,
): Promise<VmDisks> {
  const found = await listVmDisks(container, resourceGroup, vm);
  const disks = await Promise.all(
    found.map(
      async (d) =>
        new ReplicatedDisk(d.lun, await PageBlobDisk.open(d.name, container.getPageBlobClient(d.blobName))),
    ),
  );
  return new VmDisks(disks);
}
