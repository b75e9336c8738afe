/**
 * How workflows reach a VM's disks, whatever the fabric. Locally a disk is a page blob
 * `disks/{rg}/{vm}/{disk}` of the region's storage, read and written in place. In Azure it is a managed
 * disk: reading takes a snapshot and a read SAS on it (a running VM's disk can't be exported), and
 * new disks are written as blobs first, then imported (arm/armDiskAccess.ts). Enable replication and
 * reprotect read through `openRead`; failover and test failover write through `writeTarget` and
 * `publish`; test failover's cleanup and commit (earlier disks) delete through `delete`.
 */
import type { ContainerClient, PageBlobClient } from '@azure/storage-blob';

import { CONTAINERS } from '../storageNames';
import { vmDiskPrefix } from '../vmDisks';
import type { BlobRef, VmDisk } from './types';

export interface DiskReader {
  /** The disk's bytes. In Azure the blob may be 512 bytes longer (the VHD footer): read `sizeBytes`. */
  blob: PageBlobClient;
  /** Gives back what reading took (in Azure: the SAS, then the snapshot). Safe to call twice. */
  close(): Promise<void>;
}

/** Where a VM's new disks are written: page blobs `{prefix}{disk name}`. */
export interface DiskWriteTarget {
  container: ContainerClient;
  prefix: string;
}

export interface WrittenDisk {
  lun: number;
  name: string;
  blobName: string;
  sizeBytes: number;
}

export interface PublishedDisk {
  lun: number;
  name: string;
  sizeBytes: number;
  /** What the VM record names: the blob locally, the managed disk (`blob.name` its id) in Azure. */
  blob: BlobRef;
}

export interface PublishOptions {
  /** The OS disk's (lun 0) operating system; Azure needs it to boot a VM from an imported disk. */
  osType?: 'Linux' | 'Windows';
}

export interface VmDiskAccess {
  readonly region: string;
  /**
   * Refuses, before replication starts, a disk of VM `vmId` this fabric could not read or fail over
   * (in Azure: a disk that is not managed, or not a whole number of MiB). Reads nothing.
   */
  checkReplicable(disk: VmDisk, vmId: string): void;
  /**
   * Read access to a disk as a VM record (or a protected item) names it. `reader` names the one who
   * reads (a job, a generation), so a retry of the same reader finds what its first try took.
   */
  openRead(disk: BlobRef, reader: string): Promise<DiskReader>;
  /** Where a VM's new disks go; `tag` (a job id) keeps one job's disks apart from another's. */
  writeTarget(resourceGroup: string, vm: string, tag: string): Promise<DiskWriteTarget>;
  /** The written blobs made into the VM's disks, in lun order. Idempotent. */
  publish(
    resourceGroup: string,
    vm: string,
    tag: string,
    disks: WrittenDisk[],
    options?: PublishOptions,
  ): Promise<PublishedDisk[]>;
  /**
   * Disks `publish` made for VM `resourceGroup/vm` that still exist but are not in `inUse` (the
   * `blob.name`s the VM has now): what earlier jobs (a change of recovery point, a failed try) left.
   */
  leftBehind(resourceGroup: string, vm: string, inUse: readonly string[]): Promise<string[]>;
  /** Deletes disks `publish` made, by the `blob.name` it gave them; what is gone already is fine. */
  delete(names: string[]): Promise<void>;
}

/** A VM disk of the local fabric: `disks/{rg}/{vm}/{disk}` in `region`. */
export function localDiskRef(region: string, resourceGroup: string, vm: string, disk: string): BlobRef {
  return { region, container: CONTAINERS.disks, name: `${vmDiskPrefix(resourceGroup, vm)}${disk}` };
}

/** The local fabric: disks are page blobs of the region's `disks` container, used in place. */
export class LocalDiskAccess implements VmDiskAccess {
  constructor(
    readonly region: string,
    private readonly disks: ContainerClient,
  ) {}

  /** Any page blob of the region's `disks` container can be read and written in place. */
  checkReplicable(_disk?: VmDisk, _vmId?: string): void {}

  async openRead(disk: BlobRef, _reader?: string): Promise<DiskReader> {
    return { blob: this.disks.getPageBlobClient(disk.name), close: async () => {} };
  }

  /** The VM's own prefix: a later job rewrites the same blobs, which the VM's agent serves by lun. */
  async writeTarget(resourceGroup: string, vm: string, _tag?: string): Promise<DiskWriteTarget> {
    return { container: this.disks, prefix: vmDiskPrefix(resourceGroup, vm) };
  }

  async publish(
    _resourceGroup: string,
    _vm: string,
    _tag: string,
    disks: WrittenDisk[],
  ): Promise<PublishedDisk[]> {
    // A fresh copy has no metadata; the VM's agent finds its disks by `lun` (shared/vmDisks.ts).
    await Promise.all(
      disks.map((d) => this.disks.getPageBlobClient(d.blobName).setMetadata({ lun: String(d.lun) })),
    );
    return [...disks]
      .sort((a, b) => a.lun - b.lun)
      .map((d) => ({
        lun: d.lun,
        name: d.name,
        sizeBytes: d.sizeBytes,
        blob: { region: this.region, container: CONTAINERS.disks, name: d.blobName },
      }));
  }

  /** None: every job rewrites the VM's own blobs in place. */
  async leftBehind(_resourceGroup?: string, _vm?: string, _inUse?: readonly string[]): Promise<string[]> {
    return [];
  }

  async delete(names: string[]): Promise<void> {
    for (const name of names) {
      await this.disks.getBlobClient(name).deleteIfExists({ deleteSnapshots: 'include' });
    }
  }
}
