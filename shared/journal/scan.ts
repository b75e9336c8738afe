/**
 * Everything a VM's journal holds, segments and legacy per-delta blobs alike, whatever the gaps:
 * for checks and tools that look at the journal as a whole (replay reads it with JournalReader).
 */
import type { ContainerClient } from '@azure/storage-blob';

import { deltaBlobPrefix } from '../delta';
import { readLegacyDelta } from './legacy';
import { SEGMENT_READ, SegmentCursor } from './segmentCursor';
import { type JournalBlob, parseJournalBlobName } from './segments';

export interface JournaledDelta {
  generation: number;
  sequence: number;
  /** Its bytes, when asked for. */
  body?: Buffer;
}

/** The journal's blobs under the VM (and generation), parsed, in name order (by first sequence). */
export async function journalBlobs(
  journal: ContainerClient,
  vm: { resourceGroup: string; vm: string; generation?: number },
): Promise<(JournalBlob & { blobName: string })[]> {
  const out: (JournalBlob & { blobName: string })[] = [];
  for await (const blob of journal.listBlobsFlat({ prefix: deltaBlobPrefix(vm) })) {
    const parsed = parseJournalBlobName(blob.name);
    if (parsed) out.push({ ...parsed, blobName: blob.name });
  }
  return out;
}

/**
 * Every delta journaled for the VM (the first copy of each), by generation then sequence. Bodies are
 * read only with `bodies`; without, a segment's frames are jumped over and only their headers read.
 */
export async function journaledDeltas(
  journal: ContainerClient,
  vm: { resourceGroup: string; vm: string; generation?: number },
  options: { bodies?: boolean } = {},
): Promise<JournaledDelta[]> {
  const found = new Map<string, JournaledDelta>();
  const add = (d: JournaledDelta): void => {
    const key = `${d.generation}/${d.sequence}`;
    if (!found.has(key)) found.set(key, d);
  };
  for (const blob of await journalBlobs(journal, vm)) {
    if (blob.kind === 'delta') {
      const body = options.bodies ? await readLegacyDelta(journal, blob.blobName) : undefined;
      if (!options.bodies || body) add({ generation: blob.generation, sequence: blob.sequence, body });
      continue;
    }
    const cursor = new SegmentCursor(journal.getBlobClient(blob.blobName), blob.start, SEGMENT_READ);
    try {
      for (;;) {
        const frame = await cursor.next(() => options.bodies === true);
        if (!frame) break;
        add({ generation: blob.generation, sequence: frame.ref.sequence, body: frame.body });
      }
    } finally {
      cursor.close();
    }
  }
  return [...found.values()].sort((a, b) => a.generation - b.generation || a.sequence - b.sequence);
}
