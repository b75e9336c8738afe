/**
 * Managed disks and snapshots in the fake Resource Manager, with their bytes when the region has disk
 * storage (diskStorage.ts), as Azure has them:
 *
 *   create   Import reads `sourceUri` (a blob of a registered account) and needs a fixed VHD: anything
 *            else is 400 InvalidParameter and nothing is created; Copy copies a disk's or snapshot's
 *            bytes (a snapshot keeps them as they were then); Empty makes `diskSizeGB` GiB of zeros.
 *            `diskSizeBytes` is the data's size.
 *   access   beginGetAccess answers a SAS URL to the backing blob (Read `r`, Write `rw`) and sets
 *            `diskState: ActiveSAS`; endGetAccess clears it. A disk attached to a VM that is not
 *            deallocated cannot be exported, and a disk or snapshot under access cannot be deleted or
 *            attached: 409 OperationNotAllowed.
 *
 * Without disk storage for the region a disk is metadata only, as before.
 */
import type { PageBlobClient } from '@azure/storage-blob';

import { armErrorResponse as error, type FakeResponse, type Json, typeOf } from './common';
import { DiskStorage } from './diskStorage';

const DISKS = 'microsoft.compute/disks';
const SNAPSHOTS = 'microsoft.compute/snapshots';
const VMS = 'microsoft.compute/virtualmachines';
const GiB = 1024 ** 3;

/** What the disks need of the fake: its resources and VM power states, by lower-cased id. */
export interface DiskHost {
  readonly resources: Map<string, Json>;
  readonly power: Map<string, string>;
}

export function isDiskType(type: string): boolean {
  return type === DISKS || type === SNAPSHOTS;
}

function propsOf(resource: Json | undefined): Json {
  return (resource?.properties ?? {}) as Json;
}

/** The managed disk ids a VM body attaches (OS disk and data disks), lower-cased. */
export function attachedDiskIds(vm: Json | undefined): string[] {
  const storage = (propsOf(vm).storageProfile ?? {}) as Json;
  const disks = [storage.osDisk, ...((storage.dataDisks as unknown[] | undefined) ?? [])] as (
    Json | undefined
  )[];
  return disks
    .map((d) => (d?.managedDisk as Json | undefined)?.id)
    .filter((id): id is string => typeof id === 'string')
    .map((id) => id.toLowerCase());
}

/** The storage account name of a blob URL: `{account}.blob…` or, on a local emulator, the first path segment. */
function accountOfUri(uri: string): string | undefined {
  try {
    const url = new URL(uri);
    const local = url.hostname === '127.0.0.1' || url.hostname === 'localhost';
    return (local ? url.pathname.split('/')[1] : url.hostname.split('.')[0])?.toLowerCase();
  } catch {
    return undefined;
  }
}

function nameOf(id: string): string {
  return id.split('/').pop() ?? id;
}

export class FakeDisks {
  readonly storage = new DiskStorage();
  /** Backing blobs, by lower-cased disk or snapshot id. */
  readonly #backing = new Map<string, PageBlobClient>();

  constructor(private readonly host: DiskHost) {}

  /** Forgets which resources have bytes (the blobs stay in Azurite). */
  clear(): void {
    this.#backing.clear();
  }

  backingBlob(id: string): PageBlobClient | undefined {
    return this.#backing.get(id.toLowerCase());
  }

  #activeAccess(id: string): boolean {
    return propsOf(this.host.resources.get(id.toLowerCase())).diskState === 'ActiveSAS';
  }

  /** The VM (lower-cased id) the disk is attached to, if any. */
  attachedTo(diskId: string): string | undefined {
    const key = diskId.toLowerCase();
    for (const [vmKey, vm] of this.host.resources) {
      if (typeOf(vmKey) === VMS && attachedDiskIds(vm).includes(key)) return vmKey;
    }
    return undefined;
  }

  /**
   * Fills in a new disk or snapshot `id` from its PUT `body` (sizes) and makes its bytes when its
   * region has storage. An error answer when Azure would refuse it (nothing is made then).
   */
  async create(id: string, body: Json): Promise<FakeResponse | undefined> {
    const type = typeOf(id);
    const props = (body.properties ??= {}) as Json;
    const creation = (props.creationData ?? {}) as Json;
    const target = this.storage.blobFor(body.location, id);
    if (!target) return undefined;
    const option = String(creation.createOption ?? '');
    const given = props.diskSizeGB === undefined ? undefined : Number(props.diskSizeGB);
    const tooSmall = (dataBytes: number): FakeResponse | undefined =>
      given !== undefined && given * GiB < dataBytes
        ? error(
            400,
            'InvalidParameter',
            `The specified disk size ${given} GB is smaller than the size of the corresponding disk source, which is ${Math.ceil(dataBytes / GiB)} GB.`,
          )
        : undefined;
    let dataBytes: number;
    if (option === 'Import' && type === DISKS) {
      const uri = String(creation.sourceUri ?? '');
      const source = this.storage.sourceClient(uri);
      if (!source) {
        return error(
          400,
          'InvalidParameter',
          `fake: the source blob ${uri} is not in a storage account the fake knows (register its container with useDiskStorage).`,
        );
      }
      const account = nameOf(String(creation.storageAccountId ?? '')).toLowerCase();
      if (account !== accountOfUri(uri)) {
        return error(
          400,
          'InvalidParameter',
          `The source blob ${uri} is not in the storage account ${String(creation.storageAccountId)}.`,
        );
      }
      const read = await this.storage.readVhd(source);
      if ('missing' in read) return error(404, 'NotFound', `The source blob ${uri} was not found.`);
      if ('problem' in read) {
        return error(
          400,
          'InvalidParameter',
          `The VHD blob ${uri} of disk '${nameOf(id)}' is not a supported VHD: ${read.problem} Azure imports fixed-size VHDs only: the data, a whole number of MiB, then a 512-byte footer.`,
        );
      }
      dataBytes = read.dataBytes;
      const small = tooSmall(dataBytes);
      if (small) return small;
      await this.storage.copy(source, target);
      props.diskSizeGB = given ?? Math.ceil(dataBytes / GiB);
    } else if (option === 'Copy') {
      const sourceId = String(creation.sourceResourceId ?? '');
      const source = this.host.resources.get(sourceId.toLowerCase());
      if (!source || !isDiskType(typeOf(sourceId))) {
        return error(404, 'NotFound', `The source resource '${sourceId}' was not found.`);
      }
      const bytes = this.#backing.get(sourceId.toLowerCase());
      if (!bytes) {
        return error(
          400,
          'InvalidParameter',
          `fake: ${sourceId} has no bytes (it was made without disk storage).`,
        );
      }
      const sp = propsOf(source);
      dataBytes = Number(sp.diskSizeBytes ?? Number(sp.diskSizeGB ?? 0) * GiB);
      const small = type === DISKS ? tooSmall(dataBytes) : undefined;
      if (small) return small;
      await this.storage.copy(bytes, target);
      props.diskSizeGB = (type === DISKS ? given : undefined) ?? sp.diskSizeGB ?? Math.ceil(dataBytes / GiB);
    } else if (option === 'Empty' && type === DISKS) {
      if (given === undefined || !Number.isSafeInteger(given) || given <= 0) {
        return error(
          400,
          'InvalidParameter',
          'diskSizeGB must be a positive whole number for an empty disk.',
        );
      }
      dataBytes = given * GiB;
      await this.storage.createEmpty(target, dataBytes, id.toLowerCase());
    } else {
      return error(400, 'InvalidParameter', `fake: createOption '${option}' is not supported for ${type}.`);
    }
    props.diskSizeBytes = dataBytes;
    this.#backing.set(id.toLowerCase(), target);
    return undefined;
  }

  /** Records the bytes of a disk seeded with `data` (fakeArm's seedDisk). */
  async seed(id: string, region: string, data: Buffer): Promise<void> {
    const target = this.storage.blobFor(region, id);
    if (!target) throw new Error(`fake.seedDisk: no disk storage in ${region}; call useDiskStorage first.`);
    await this.storage.write(target, data, id.toLowerCase());
    this.#backing.set(id.toLowerCase(), target);
  }

  /** The data part of a disk's or snapshot's backing blob. */
  async bytes(id: string): Promise<Buffer> {
    const blob = this.#backing.get(id.toLowerCase());
    if (!blob) throw new Error(`fake.diskBytes: ${id} has no bytes (no disk storage in its region).`);
    return this.storage.dataOf(blob);
  }

  /** 409 when the disk or snapshot cannot be deleted now: under access, or attached to a VM. */
  checkDelete(id: string): FakeResponse | undefined {
    if (!isDiskType(typeOf(id))) return undefined;
    if (this.#activeAccess(id)) {
      return error(
        409,
        'OperationNotAllowed',
        `The ${typeOf(id) === DISKS ? 'disk' : 'snapshot'} '${nameOf(id)}' cannot be deleted while it has an active SAS (beginGetAccess). Revoke access (endGetAccess) first.`,
      );
    }
    const vm = typeOf(id) === DISKS ? this.attachedTo(id) : undefined;
    if (vm) {
      return error(
        409,
        'OperationNotAllowed',
        `Disk '${nameOf(id)}' is attached to VM '${vm}' and cannot be deleted.`,
      );
    }
    return undefined;
  }

  /** The backing blob of a deleted disk or snapshot goes too. */
  async removed(id: string): Promise<void> {
    const blob = this.#backing.get(id.toLowerCase());
    this.#backing.delete(id.toLowerCase());
    await blob?.deleteIfExists();
  }

  /** 409 when a VM PUT attaches a disk (one it did not have) whose access is active. */
  checkAttach(vm: Json, existing: Json | undefined): FakeResponse | undefined {
    const had = new Set(attachedDiskIds(existing));
    const busy = attachedDiskIds(vm).find((id) => !had.has(id) && this.#activeAccess(id));
    return busy
      ? error(
          409,
          'OperationNotAllowed',
          `Disk '${nameOf(busy)}' cannot be attached: it has an active SAS (beginGetAccess). Revoke access (endGetAccess) first.`,
        )
      : undefined;
  }

  /** 409 when a VM cannot start: one of its disks has an active SAS. */
  checkStart(vmKey: string): FakeResponse | undefined {
    const busy = attachedDiskIds(this.host.resources.get(vmKey)).find((id) => this.#activeAccess(id));
    return busy
      ? error(
          409,
          'OperationNotAllowed',
          `The VM cannot start: its disk '${nameOf(busy)}' has an active SAS.`,
        )
      : undefined;
  }

  /** beginGetAccess on `id`: the SAS URL (the operation's result) or an error answer. */
  async beginGetAccess(id: string, body: Json): Promise<{ sas: string } | { refused: FakeResponse }> {
    const key = id.toLowerCase();
    const resource = this.host.resources.get(key);
    if (!resource || !isDiskType(typeOf(key))) {
      return { refused: error(404, 'ResourceNotFound', `The Resource '${id}' was not found.`) };
    }
    const access = body.access;
    const seconds = Number(body.durationInSeconds);
    if (access !== 'Read' && access !== 'Write') {
      return {
        refused: error(400, 'InvalidParameter', `The value '${String(access)}' of access is not valid.`),
      };
    }
    if (!Number.isSafeInteger(seconds) || seconds <= 0) {
      return {
        refused: error(400, 'InvalidParameter', 'durationInSeconds must be a positive whole number.'),
      };
    }
    const vm = typeOf(key) === DISKS ? this.attachedTo(key) : undefined;
    if (vm && this.host.power.get(vm) !== 'deallocated') {
      return {
        refused: error(
          409,
          'OperationNotAllowed',
          `Disk '${nameOf(id)}' is attached to VM '${vm}', which is not deallocated. A disk of a running VM cannot be exported: take a snapshot of the disk and grant access on the snapshot, or deallocate the VM.`,
        ),
      };
    }
    const blob = this.#backing.get(key);
    if (!blob) {
      return {
        refused: error(400, 'InvalidParameter', `fake: ${id} has no bytes (no disk storage in its region).`),
      };
    }
    const sas = await this.storage.sasUrl(blob, access, seconds);
    propsOf(resource).diskState = 'ActiveSAS';
    return { sas };
  }

  /** endGetAccess on `id`: what ends the access when the operation does, or an error answer. */
  endGetAccess(id: string): { done: () => void } | { refused: FakeResponse } {
    const key = id.toLowerCase();
    if (!this.host.resources.has(key) || !isDiskType(typeOf(key))) {
      return { refused: error(404, 'ResourceNotFound', `The Resource '${id}' was not found.`) };
    }
    return {
      done: () => {
        delete propsOf(this.host.resources.get(key)).diskState;
      },
    };
  }
}
