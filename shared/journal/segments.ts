/**
 * Journal segment names: one append blob per VM, generation and run of SEGMENT_DELTAS sequences,
 * `{resourceGroup}/{vm}/{generation}/{segmentStart:020}.journal`. Legacy journals kept one blob per
 * delta under the cache's name (`….delta`); both share the VM and generation prefix, and both sort
 * by their first sequence (docs/delta-format.md, "Journal segments").
 */
import { deltaBlobPrefix, parseDeltaBlobName } from '../delta';
import { parseDecimal, SEQUENCE_DIGITS } from '../delta/blobName';
import { isU64 } from '../delta/bytes';
import { TidemarkError } from '../errors';

/** Sequences per segment. */
export const SEGMENT_DELTAS = 256;

const NAME = /^([^/]+)\/([^/]+)\/([0-9]+)\/([0-9]{20})\.journal$/;

export interface JournalVm {
  resourceGroup: string;
  vm: string;
  generation: number;
}

export interface SegmentName extends JournalVm {
  /** The first sequence the segment can hold, a multiple of SEGMENT_DELTAS. */
  start: number;
}

/** The first sequence of the segment that holds `sequence`. */
export function segmentStart(sequence: number): number {
  return Math.floor(sequence / SEGMENT_DELTAS) * SEGMENT_DELTAS;
}

/** The name of the segment that holds `sequence`. */
export function segmentBlobName(name: JournalVm & { sequence: number }): string {
  if (!isU64(name.sequence)) {
    throw new TidemarkError('InvalidArgument', 'journal sequence is not a u64', {
      details: { sequence: name.sequence },
    });
  }
  const start = String(segmentStart(name.sequence)).padStart(SEQUENCE_DIGITS, '0');
  return `${deltaBlobPrefix(name)}${start}.journal`;
}

/** The inverse of segmentBlobName (for the segment's start); anything else is InvalidArgument. */
export function parseSegmentBlobName(blobName: string): SegmentName {
  const notAName = (): TidemarkError =>
    new TidemarkError(
      'InvalidArgument',
      `${JSON.stringify(blobName)} is not a journal segment name ({resourceGroup}/{vm}/{generation}/{start:020}.journal)`,
      { details: { blobName } },
    );
  const match = NAME.exec(blobName);
  if (!match) throw notAName();
  const [, resourceGroup, vm, generationText, startText] = match;
  const generation = parseDecimal(generationText);
  const start = parseDecimal(startText.replace(/^0+(?=.)/, ''));
  if (generation === undefined || start === undefined || start % SEGMENT_DELTAS !== 0) throw notAName();
  // The VM's name rules are the delta's: reuse its check (it throws InvalidArgument).
  deltaBlobPrefix({ resourceGroup, vm });
  return { resourceGroup, vm, generation, start };
}

/** A journal blob: a segment (sequences start to start + 255) or a legacy per-delta blob. */
export type JournalBlob =
  (SegmentName & { kind: 'segment' }) | (JournalVm & { kind: 'delta'; sequence: number });

/** What a blob in the journal container is, or undefined for a name of neither form. */
export function parseJournalBlobName(blobName: string): JournalBlob | undefined {
  try {
    if (blobName.endsWith('.journal')) return { kind: 'segment', ...parseSegmentBlobName(blobName) };
    return { kind: 'delta', ...parseDeltaBlobName(blobName) };
  } catch {
    return undefined;
  }
}

/** The first and last sequence a journal blob can hold. */
export function journalBlobRange(blob: JournalBlob): { first: number; last: number } {
  return blob.kind === 'segment'
    ? { first: blob.start, last: blob.start + SEGMENT_DELTAS - 1 }
    : { first: blob.sequence, last: blob.sequence };
}
