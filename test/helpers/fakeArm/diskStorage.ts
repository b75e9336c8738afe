/**
 * The bytes of the fake Resource Manager's managed disks and snapshots: page blobs in one Azurite
 * container per region (`useDiskStorage`), named `{rg}/{disks|snapshots}/{name}` in lower case. A
 * backing blob is what Azure keeps for a managed disk: the data, then the 512-byte fixed-VHD footer.
 * Containers come from a connection string, so they carry a StorageSharedKeyCredential: the fake
 * reads import sources with it and signs the SAS URLs of access grants with it.
 */
import { BlobSASPermissions, type ContainerClient, PageBlobClient, RestError } from '@azure/storage-blob';

import { isTidemarkError } from '../../../shared/errors';
import { checkFixedVhd, VHD_FOOTER_BYTES, vhdFooter } from '../../../shared/fabric/vhdFooter';
import { regionKey } from './common';

/** The most one Put Page takes. */
const PUT_PAGES_MAX = 4 * 1024 * 1024;

export type VhdRead = { dataBytes: number } | { missing: true } | { problem: string };

function isNotFound(err: unknown): boolean {
  return err instanceof RestError && err.statusCode === 404;
}

export class DiskStorage {
  readonly #regions = new Map<string, ContainerClient>();

  use(region: string, container: ContainerClient): void {
    this.#regions.set(regionKey(region), container);
  }

  has(region: unknown): boolean {
    return this.#regions.has(regionKey(region));
  }

  /** The backing blob of the disk or snapshot `id` in `region`; undefined without storage there. */
  blobFor(region: unknown, id: string): PageBlobClient | undefined {
    const container = this.#regions.get(regionKey(region));
    const m = /\/resourcegroups\/([^/]+)\/providers\/microsoft\.compute\/([^/]+)\/([^/]+)$/i.exec(id);
    if (!container || !m) return undefined;
    return container.getPageBlobClient(`${m[1]}/${m[2]}/${m[3]}`.toLowerCase());
  }

  /** `uri` as a client with the credential of the registered container in its account, if any. */
  sourceClient(uri: string): PageBlobClient | undefined {
    for (const container of this.#regions.values()) {
      const account = container.url.slice(0, container.url.lastIndexOf('/')).toLowerCase();
      if (uri.toLowerCase().startsWith(`${account}/`)) return new PageBlobClient(uri, container.credential);
    }
    return undefined;
  }

  /** What Azure's import finds at `source`: a fixed VHD's data size, nothing, or why it is not one. */
  async readVhd(source: PageBlobClient): Promise<VhdRead> {
    let size: number;
    try {
      size = (await source.getProperties()).contentLength ?? 0;
    } catch (err) {
      if (isNotFound(err)) return { missing: true };
      throw err;
    }
    if (size < VHD_FOOTER_BYTES) return { problem: `the blob is ${size} bytes, too short for a VHD footer` };
    try {
      const footer = await source.downloadToBuffer(size - VHD_FOOTER_BYTES, VHD_FOOTER_BYTES);
      return { dataBytes: checkFixedVhd(size, footer).currentSize };
    } catch (err) {
      if (isTidemarkError(err)) return { problem: err.message };
      throw err;
    }
  }

  /** `target` made a copy of `source`, page range by page range. */
  async copy(source: PageBlobClient, target: PageBlobClient): Promise<void> {
    const size = (await source.getProperties()).contentLength ?? 0;
    await target.create(size);
    for await (const range of source.listPageRanges()) {
      for (let offset = range.start; offset <= range.end; offset += PUT_PAGES_MAX) {
        const count = Math.min(PUT_PAGES_MAX, range.end + 1 - offset);
        await target.uploadPages(await source.downloadToBuffer(offset, count), offset, count);
      }
    }
  }

  /** `target` made `data` followed by its fixed-VHD footer (all-zero chunks are left sparse). */
  async write(target: PageBlobClient, data: Buffer, identity: string): Promise<void> {
    const footer = vhdFooter(data.length, identity);
    await target.create(data.length + VHD_FOOTER_BYTES);
    for (let offset = 0; offset < data.length; offset += PUT_PAGES_MAX) {
      const chunk = data.subarray(offset, Math.min(offset + PUT_PAGES_MAX, data.length));
      if (chunk.some((b) => b !== 0)) await target.uploadPages(chunk, offset, chunk.length);
    }
    await target.uploadPages(footer, data.length, VHD_FOOTER_BYTES);
  }

  /** `target` made an empty disk of `dataBytes`: zeros (sparse), then the footer. */
  async createEmpty(target: PageBlobClient, dataBytes: number, identity: string): Promise<void> {
    await target.create(dataBytes + VHD_FOOTER_BYTES);
    await target.uploadPages(vhdFooter(dataBytes, identity), dataBytes, VHD_FOOTER_BYTES);
  }

  /** The data of a backing blob: everything before its footer. */
  async dataOf(blob: PageBlobClient): Promise<Buffer> {
    const size = (await blob.getProperties()).contentLength ?? 0;
    const data = size - VHD_FOOTER_BYTES;
    return data > 0 ? blob.downloadToBuffer(0, data) : Buffer.alloc(0);
  }

  /** A SAS URL to `blob`: read (`r`) or read-write (`rw`), for `seconds` from now. */
  sasUrl(blob: PageBlobClient, access: 'Read' | 'Write', seconds: number): Promise<string> {
    return blob.generateSasUrl({
      permissions: BlobSASPermissions.parse(access === 'Write' ? 'rw' : 'r'),
      startsOn: new Date(Date.now() - 5 * 60_000),
      expiresOn: new Date(Date.now() + seconds * 1000),
    });
  }
}
