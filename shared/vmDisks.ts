/**
 * A local VM's disks: page blobs `{CONTAINERS.disks}/{rg}/{vm}/{disk}` in the source storage
 * account, each with metadata `lun` (decimal), the disk's index in the VM's deltas.
 */
import { type ContainerClient, RestError } from '@azure/storage-blob';

import { nameSegmentProblem, vmIdProblem } from './delta/vmId';
import { TidemarkError } from './errors';

/** Deltas carry the disk index as a u16. */
export const MAX_LUN = 65_535;
/** Azure's longest disk name. */
export const MAX_DISK_NAME_CHARS = 80;
/** The largest page blob. */
export const MAX_DISK_BYTES = 8 * 1024 ** 4;

export interface VmDiskInfo {
  /** The disk's name: the blob name after `{rg}/{vm}/`. */
  name: string;
  blobName: string;
  lun: number;
  sizeBytes: number;
}

/** `{rg}/{vm}/`: the prefix every disk blob of the VM has. */
export function vmDiskPrefix(resourceGroup: string, vm: string): string {
  const problem = vmIdProblem(`${resourceGroup}/${vm}`);
  if (problem) {
    throw new TidemarkError('InvalidArgument', `VM ${resourceGroup}/${vm} ${problem}.`, {
      details: { resourceGroup, vm },
    });
  }
  return `${resourceGroup}/${vm}/`;
}

/** A `lun` metadata value: a decimal from 0 to MAX_LUN without leading zeros; undefined otherwise. */
export function parseLun(text: string | undefined): number | undefined {
  if (text === undefined || !/^(0|[1-9][0-9]{0,4})$/.test(text)) return undefined;
  const lun = Number(text);
  return lun <= MAX_LUN ? lun : undefined;
}

/**
 * Creates a VM disk (an empty page blob with metadata `lun`). Idempotent: a disk that exists with
 * the same lun and size is kept; one that differs, or another disk of the VM with that lun, is a
 * Conflict. Creates the container when it is missing.
 */
export async function createVmDisk(
  container: ContainerClient,
  resourceGroup: string,
  vm: string,
  diskName: string,
  lun: number,
  sizeBytes: number,
): Promise<VmDiskInfo> {
  const prefix = vmDiskPrefix(resourceGroup, vm);
  // Azure's disk names are at most 80 characters; a blob name at most 1024.
  const nameProblem =
    nameSegmentProblem(diskName) ??
    (diskName.length > MAX_DISK_NAME_CHARS ? `is longer than ${MAX_DISK_NAME_CHARS} characters` : undefined);
  if (nameProblem) {
    const shown =
      diskName.length > 100 ? `${JSON.stringify(diskName.slice(0, 100))}…` : JSON.stringify(diskName);
    throw new TidemarkError('InvalidArgument', `Disk name ${shown} ${nameProblem}.`);
  }
  if (!Number.isInteger(lun) || lun < 0 || lun > MAX_LUN) {
    throw new TidemarkError(
      'InvalidArgument',
      `Disk ${diskName}: lun ${lun} is not an integer from 0 to ${MAX_LUN}.`,
    );
  }
  if (
    !Number.isSafeInteger(sizeBytes) ||
    sizeBytes <= 0 ||
    sizeBytes % 512 !== 0 ||
    sizeBytes > MAX_DISK_BYTES
  ) {
    throw new TidemarkError(
      'InvalidArgument',
      `Disk ${diskName}: size ${sizeBytes} is not a positive multiple of 512 bytes up to 8 TiB.`,
    );
  }
  const blobName = `${prefix}${diskName}`;
  const disk: VmDiskInfo = { name: diskName, blobName, lun, sizeBytes };
  const sameLun = await blobWithLun(container, prefix, lun);
  if (sameLun !== undefined && sameLun !== blobName) {
    throw new TidemarkError(
      'Conflict',
      `VM ${resourceGroup}/${vm} already has a disk with lun ${lun}: ${sameLun}.`,
      {
        details: { blob: sameLun, lun },
      },
    );
  }
  const blob = container.getPageBlobClient(blobName);
  try {
    await blob.create(sizeBytes, { metadata: { lun: String(lun) }, conditions: { ifNoneMatch: '*' } });
    return disk;
  } catch (err) {
    if (!(err instanceof RestError && err.statusCode === 409)) throw err;
  }
  const props = await blob.getProperties();
  if (
    props.blobType !== 'PageBlob' ||
    props.contentLength !== sizeBytes ||
    parseLun(props.metadata?.lun) !== lun
  ) {
    throw new TidemarkError(
      'Conflict',
      `Disk ${blobName} exists with another type, size or lun (${props.blobType}, ${props.contentLength} bytes, lun ${props.metadata?.lun}).`,
      { details: { blob: blobName } },
    );
  }
  return disk;
}

interface DiskBlob {
  blobName: string;
  blobType?: string;
  lunText?: string;
  sizeBytes: number;
}

async function listDiskBlobs(container: ContainerClient, prefix: string): Promise<DiskBlob[]> {
  const out: DiskBlob[] = [];
  for await (const item of container.listBlobsFlat({ prefix, includeMetadata: true })) {
    out.push({
      blobName: item.name,
      blobType: item.properties.blobType,
      lunText: item.metadata?.lun,
      sizeBytes: item.properties.contentLength ?? 0,
    });
  }
  return out;
}

/**
 * The VM's disks ordered by lun. A blob under the VM's prefix that is not a page blob, or has a
 * missing, malformed or duplicate lun, is an InvalidConfig error naming the blob; no disk (or no
 * container) is NotFound.
 */
export async function listVmDisks(
  container: ContainerClient,
  resourceGroup: string,
  vm: string,
): Promise<VmDiskInfo[]> {
  const prefix = vmDiskPrefix(resourceGroup, vm);
  const where = `${container.containerName}/${prefix}`;
  let blobs: DiskBlob[];
  try {
    blobs = await listDiskBlobs(container, prefix);
  } catch (err) {
    if (err instanceof RestError && err.code === 'ContainerNotFound') blobs = [];
    else throw err;
  }
  if (blobs.length === 0) {
    throw new TidemarkError(
      'NotFound',
      `VM ${resourceGroup}/${vm} has no disks: no page blobs under ${where}.`,
      {
        hint: 'Create the VM (PUT /api/vms/{rg}/{vm}) or its disks first.',
        details: { resourceGroup, vm },
      },
    );
  }
  const byLun = new Map<number, VmDiskInfo>();
  for (const blob of blobs) {
    const full = `${container.containerName}/${blob.blobName}`;
    if (blob.blobType !== 'PageBlob') {
      throw new TidemarkError('InvalidConfig', `Disk blob ${full} is a ${blob.blobType}, not a page blob.`, {
        details: { blob: full },
      });
    }
    const lun = parseLun(blob.lunText);
    if (lun === undefined) {
      const got =
        blob.lunText === undefined
          ? 'has no lun metadata'
          : `has lun metadata ${JSON.stringify(blob.lunText)}`;
      throw new TidemarkError(
        'InvalidConfig',
        `Disk blob ${full} ${got}; it needs a decimal lun from 0 to ${MAX_LUN}.`,
        {
          hint: 'Create disks with createVmDisk (shared/vmDisks.ts), which sets it.',
          details: { blob: full },
        },
      );
    }
    const other = byLun.get(lun);
    if (other) {
      throw new TidemarkError(
        'InvalidConfig',
        `Disk blobs ${container.containerName}/${other.blobName} and ${full} both have lun ${lun}.`,
        { details: { blob: full, other: `${container.containerName}/${other.blobName}`, lun } },
      );
    }
    byLun.set(lun, {
      name: blob.blobName.slice(prefix.length),
      blobName: blob.blobName,
      lun,
      sizeBytes: blob.sizeBytes,
    });
  }
  return [...byLun.values()].sort((a, b) => a.lun - b.lun);
}

/** The VM's disk blob with this lun, if any; creates the container when it is missing. */
async function blobWithLun(
  container: ContainerClient,
  prefix: string,
  lun: number,
): Promise<string | undefined> {
  let blobs: DiskBlob[];
  try {
    blobs = await listDiskBlobs(container, prefix);
  } catch (err) {
    if (!(err instanceof RestError && err.code === 'ContainerNotFound')) throw err;
    await container.createIfNotExists();
    return undefined;
  }
  return blobs.find((b) => parseLun(b.lunText) === lun)?.blobName;
}
