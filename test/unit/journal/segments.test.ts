import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { deltaBlobName } from '../../../shared/delta';
import {
  journalBlobRange,
  parseJournalBlobName,
  parseSegmentBlobName,
  SEGMENT_DELTAS,
  segmentBlobName,
  segmentStart,
} from '../../../shared/journal';
import { caught } from '../../helpers/caught';
import { u64Arb, vmIdArb } from '../delta/support';

describe('journal segment names', () => {
  it('are {rg}/{vm}/{generation}/{segmentStart:020}.journal, 256 sequences each', () => {
    expect(SEGMENT_DELTAS).toBe(256);
    const name = (sequence: number) =>
      segmentBlobName({ resourceGroup: 'rg-app', vm: 'web', generation: 3, sequence });
    expect(name(0)).toBe('rg-app/web/3/00000000000000000000.journal');
    expect(name(255)).toBe('rg-app/web/3/00000000000000000000.journal');
    expect(name(256)).toBe('rg-app/web/3/00000000000000000256.journal');
    expect(name(1000)).toBe('rg-app/web/3/00000000000000000768.journal');
    expect(segmentStart(511)).toBe(256);
  });

  it('round-trip through the parser, and sort with legacy delta blobs by first sequence', () => {
    fc.assert(
      fc.property(vmIdArb, u64Arb, u64Arb, u64Arb, (vmId, generation, a, b) => {
        const [resourceGroup, vm] = vmId.split('/') as [string, string];
        const segment = segmentBlobName({ resourceGroup, vm, generation, sequence: a });
        const start = segmentStart(a);
        expect(parseSegmentBlobName(segment)).toEqual({ resourceGroup, vm, generation, start });
        expect(parseJournalBlobName(segment)).toEqual({
          kind: 'segment',
          resourceGroup,
          vm,
          generation,
          start,
        });
        const legacy = deltaBlobName({ resourceGroup, vm, generation, sequence: b });
        expect(parseJournalBlobName(legacy)).toEqual({
          kind: 'delta',
          resourceGroup,
          vm,
          generation,
          sequence: b,
        });
        if (start !== b) expect(segment < legacy).toBe(start < b);
      }),
    );
  });

  it('give each blob the sequences it can hold', () => {
    expect(journalBlobRange(parseJournalBlobName('rg/vm/1/00000000000000000512.journal')!)).toEqual({
      first: 512,
      last: 767,
    });
    expect(journalBlobRange(parseJournalBlobName('rg/vm/1/00000000000000000042.delta')!)).toEqual({
      first: 42,
      last: 42,
    });
  });

  it.each([
    'rg/vm/1/00000000000000000000',
    'rg/vm/1/0000000000000000000.journal',
    'rg/vm/1/00000000000000000100.journal',
    'rg/vm/01/00000000000000000000.journal',
    'rg/vm/00000000000000000000.journal',
    'rg/../1/00000000000000000000.journal',
    'rg/vm/1/99999999999999999744.journal',
  ])('rejects %s (InvalidArgument; not a journal blob)', async (name) => {
    expect((await caught(Promise.resolve().then(() => parseSegmentBlobName(name)))).code).toBe(
      'InvalidArgument',
    );
    expect(parseJournalBlobName(name)).toBeUndefined();
  });

  it('rejects a sequence that is not a u64', async () => {
    const error = await caught(
      Promise.resolve().then(() =>
        segmentBlobName({ resourceGroup: 'rg', vm: 'vm', generation: 1, sequence: -1 }),
      ),
    );
    expect(error.code).toBe('InvalidArgument');
  });
});
