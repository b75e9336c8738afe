/**
 * Journals applied deltas: each one is one append block (a frame) of its segment. Appends may run
 * concurrently and land out of order within a segment; a delta journaled twice (a crash before the
 * watermark moved) leaves two identical frames, and readers take the first.
 */
import { Readable } from 'node:stream';

import { type ContainerClient, RestError } from '@azure/storage-blob';

import { encodeFrameHeader } from './frame';
import { type JournalVm, segmentBlobName } from './segments';

export interface JournalDeltaRef extends JournalVm {
  sequence: number;
}

/** The applier's seam to the journal. */
export interface JournalAppender {
  append(ref: JournalDeltaRef, delta: Buffer): Promise<void>;
}

export class JournalWriter implements JournalAppender {
  constructor(private readonly container: ContainerClient) {}

  async append(ref: JournalDeltaRef, delta: Buffer): Promise<void> {
    const header = encodeFrameHeader(ref.sequence, delta.length);
    const blob = this.container.getAppendBlobClient(segmentBlobName(ref));
    const length = header.length + delta.length;
    // A body factory, not a concatenated copy: a retry reads it again, and a large delta is not held twice.
    const body = (): NodeJS.ReadableStream => Readable.from([header, delta], { objectMode: false });
    try {
      await blob.appendBlock(body, length);
    } catch (err) {
      if (!isBlobNotFound(err)) throw err;
      // If-None-Match: * — a plain create would truncate a segment another append just created.
      await blob.createIfNotExists();
      await blob.appendBlock(body, length);
    }
  }
}

function isBlobNotFound(err: unknown): boolean {
  if (!(err instanceof RestError) || err.statusCode !== 404) return false;
  const code = (err.details as { errorCode?: string } | undefined)?.errorCode ?? err.code;
  return code === 'BlobNotFound';
}
