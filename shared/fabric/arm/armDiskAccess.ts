/**
 * VM disks in Azure (diskAccess.ts's interface over managed disks).
 *
 *   read     a snapshot of the managed disk (a running VM's disk can't be exported), a read SAS on
 *            it, and a page blob client on that SAS; `close` revokes the SAS and deletes the snapshot.
 *   write    the recovery point is materialized as page blobs `disk-imports/{rg}/{vm}/{tag}/{disk}`
 *            of the region's storage account (server-side copies from the replicas' snapshots in the
 *            same account); `publish` appends the fixed-VHD footer Azure's import needs, imports each
 *            blob into a managed disk `{vm}-{disk}-{tag hash}` in the VM's group, then deletes the blob.
 *   delete   managed disks by id.
 *
 * The snapshot and disk names derive from the reader and the tag, so a retried activity finds what
 * its first try made (creating either is idempotent for the same source).
 */
import { createHash } from 'node:crypto';

import {
  AnonymousCredential,
  type BlobServiceClient,
  type ContainerClient,
  PageBlobClient,
  RestError,
} from '@azure/storage-blob';

import { TidemarkError } from '../../errors';
import { CONTAINERS } from '../../storageNames';
import { vmDiskPrefix } from '../../vmDisks';
import type {
  DiskReader,
  DiskWriteTarget,
  PublishedDisk,
  PublishOptions,
  VmDiskAccess,
  WrittenDisk,
} from '../diskAccess';
import { nameKey } from '../names';
import type { BlobRef, VmDisk } from '../types';
import { dataSizeProblem, vhdFooter, VHD_FOOTER_BYTES } from '../vhdFooter';
import { idKey, PROVIDERS, refFromId, resourceId } from './armIds';
import type { ArmFabricStore } from './armFabricStore';
import { MANAGED_DISK_CONTAINER } from './virtualMachines';

/** How long a read SAS lasts: a copy or hash sync of a large disk takes hours. */
const READ_ACCESS_SECONDS = 12 * 3600;
/** Azure's longest disk and snapshot name. */
const MAX_NAME_CHARS = 80;
/** Tags tidemark puts on what it makes, so a person can tell where it came from. */
export const DISK_OF_TAG = 'tidemark-disk-of';
export const READER_TAG = 'tidemark-reader';

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 8);
}

/** `{base}-{suffix}` within Azure's 80 characters, ending in a letter or digit as Azure requires. */
export function boundedName(base: string, suffix: string): string {
  const room = MAX_NAME_CHARS - suffix.length - 1;
  return `${base.slice(0, room).replace(/[.-]+$/, '')}-${suffix}`;
}

/**
 * The managed disk a job makes for disk `disk` of VM `vm`: `{vm}-{disk}-{hash}`, where a disk already
 * named `{vm}-…` is not prefixed again and the hash of an earlier trip is dropped, so a failback of a
 * failover (whose disks were named that way) gives `web1-os-{hash}`, not a name that grows with every
 * trip. The hash is of the job and the disk's full name, so two disks whose names differ only in such
 * a suffix still get two names.
 */
export function madeDiskName(vm: string, disk: string, tag: string): string {
  const base = disk.replace(/-[0-9a-f]{8}$/, '');
  const named = base.toLowerCase().startsWith(`${vm.toLowerCase()}-`) ? base : `${vm}-${base}`;
  return boundedName(named, shortHash(`${tag}\n${disk}`));
}

/** `{resourceGroup, name}` of a managed disk id; InvalidConfig for anything else (an unmanaged VHD). */
function managedDiskOf(id: string): { resourceGroup: string; name: string } {
  try {
    return refFromId(id, PROVIDERS.disks, 'Disk');
  } catch (err) {
    throw new TidemarkError(
      'InvalidConfig',
      `Disk ${JSON.stringify(id)} is not a managed disk; in Azure tidemark reads and writes managed disks only.`,
      {
        cause: err,
        hint: 'Convert the VM to managed disks (az vm convert), then enable replication again.',
        details: { disk: id },
      },
    );
  }
}

function isNotFound(err: unknown): boolean {
  return err instanceof RestError && err.statusCode === 404;
}

export class ArmDiskAccess implements VmDiskAccess {
  #imports: ContainerClient;
  #accountId?: Promise<string>;

  constructor(
    readonly region: string,
    private readonly store: ArmFabricStore,
    storage: BlobServiceClient,
  ) {
    this.#imports = storage.getContainerClient(CONTAINERS.diskImports);
  }

  /** A managed disk (read through snapshots) of a whole number of MiB (failover imports a fixed VHD). */
  checkReplicable(disk: VmDisk, vmId: string): void {
    managedDiskOf(disk.blob.name);
    const problem = dataSizeProblem(disk.sizeBytes);
    if (problem) {
      throw new TidemarkError(
        'InvalidConfig',
        `Disk ${disk.name} of VM ${vmId} can't be failed over: Azure imports a disk from a fixed VHD whose data is a whole number of MiB, and ${problem}.`,
        {
          hint: `Resize disk ${disk.name} to a whole number of GiB (az disk update --size-gb), then enable replication again.`,
          details: { disk: disk.blob.name, sizeBytes: disk.sizeBytes },
        },
      );
    }
  }

  async openRead(disk: BlobRef, reader: string): Promise<DiskReader> {
    const id = disk.name;
    const { resourceGroup, name } = managedDiskOf(id);
    const snapshotName = boundedName(`${name}-tmread`, shortHash(reader));
    const snapshot = await this.store.snapshots.create(this.store.region, resourceGroup, snapshotName, id, {
      incremental: true,
      tags: { [READER_TAG]: reader.slice(0, 256) },
    });
    let closed: Promise<void> | undefined;
    const close = (): Promise<void> =>
      (closed ??= (async () => {
        await this.store.revokeAccess(snapshot.id);
        await this.store.snapshots.delete(resourceGroup, snapshotName);
      })());
    try {
      const sas = await this.store.grantAccess(snapshot.id, 'Read', READ_ACCESS_SECONDS);
      return { blob: new PageBlobClient(sas, new AnonymousCredential()), close };
    } catch (err) {
      await close().catch(() => undefined);
      throw err;
    }
  }

  async writeTarget(resourceGroup: string, vm: string, tag: string): Promise<DiskWriteTarget> {
    await this.#imports.createIfNotExists();
    return { container: this.#imports, prefix: `${vmDiskPrefix(resourceGroup, vm)}${shortHash(tag)}/` };
  }

  async publish(
    resourceGroup: string,
    vm: string,
    tag: string,
    disks: WrittenDisk[],
    options: PublishOptions = {},
  ): Promise<PublishedDisk[]> {
    const accountId = await this.#storageAccountId();
    const published = await Promise.all(
      disks.map(async (d): Promise<PublishedDisk> => {
        const blob = this.#imports.getPageBlobClient(d.blobName);
        await this.#appendFooter(blob, d, tag);
        const managed = await this.store.createManagedDiskFromBlob(
          this.store.region,
          resourceGroup,
          madeDiskName(vm, d.name, tag),
          blob.url,
          accountId,
          d.sizeBytes,
          {
            ...(d.lun === 0 && options.osType ? { osType: options.osType } : {}),
            tags: { [DISK_OF_TAG]: `${resourceGroup}/${vm}` },
          },
        );
        // Imported: the disk has its own copy of the bytes.
        await blob.deleteIfExists();
        return {
          lun: d.lun,
          name: d.name,
          sizeBytes: d.sizeBytes,
          blob: { region: this.region, container: MANAGED_DISK_CONTAINER, name: managed.id },
        };
      }),
    );
    return published.sort((a, b) => a.lun - b.lun);
  }

  /** The group's managed disks tagged as made for the VM, but for those in use (ids match case-insensitively). */
  async leftBehind(resourceGroup: string, vm: string, inUse: readonly string[]): Promise<string[]> {
    const owner = nameKey(`${resourceGroup}/${vm}`);
    const used = new Set(inUse.map(idKey));
    return (await this.store.managedDisks.list(resourceGroup))
      .filter((d) => {
        const tag = d.tags?.[DISK_OF_TAG];
        return tag !== undefined && nameKey(tag) === owner && !used.has(idKey(d.id));
      })
      .map((d) => d.id);
  }

  async delete(names: string[]): Promise<void> {
    for (const name of names) {
      const { resourceGroup, name: disk } = managedDiskOf(name);
      await this.store.managedDisks.delete(resourceGroup, disk);
    }
  }

  /** The blob made a fixed VHD: its data, then the footer. Gone means an earlier try imported it. */
  async #appendFooter(blob: PageBlobClient, disk: WrittenDisk, tag: string): Promise<void> {
    let length: number | undefined;
    try {
      length = (await blob.getProperties()).contentLength;
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    const footer = vhdFooter(disk.sizeBytes, `${tag}/${disk.blobName}`);
    if (length === disk.sizeBytes) await blob.resize(disk.sizeBytes + VHD_FOOTER_BYTES);
    else if (length !== disk.sizeBytes + VHD_FOOTER_BYTES) {
      throw new TidemarkError(
        'Internal',
        `Disk blob ${blob.name} has ${length} bytes, neither the disk's ${disk.sizeBytes} nor that plus a VHD footer.`,
        { details: { blob: blob.name } },
      );
    }
    await blob.uploadPages(footer, disk.sizeBytes, VHD_FOOTER_BYTES);
  }

  /** The resource id of the storage account the import blobs are in (Azure's import asks for it). */
  #storageAccountId(): Promise<string> {
    this.#accountId ??= (async () => {
      const account = this.#imports.accountName;
      const found = (await this.store.storageAccounts.list()).find(
        (a) => a.name.toLowerCase() === account.toLowerCase(),
      );
      if (!found) {
        throw new TidemarkError(
          'InvalidConfig',
          `Storage account ${account} (the storage of ${this.region}) is not in subscription ${this.store.subscriptionId} in ${this.region}; failed-over disks are imported from it.`,
          {
            hint: "Point the region's storage setting at an account of the subscription in that region.",
            details: { account, region: this.region },
          },
        );
      }
      return resourceId(
        this.store.subscriptionId,
        found.resourceGroup,
        PROVIDERS.storageAccounts,
        found.name,
      );
    })();
    void this.#accountId.catch(() => (this.#accountId = undefined));
    return this.#accountId;
  }
}
