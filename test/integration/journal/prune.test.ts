/**
 * Journal pruning on a real Azurite: whole segments at or below a generation's floor go, legacy
 * per-delta blobs by the old rule, older generations whole, newer ones not at all.
 */
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { beforeAll, describe, expect, it } from 'vitest';

import { deltaBlobName } from '../../../shared/delta';
import { journalBlobs, JournalReader, JournalWriter } from '../../../shared/journal';
import { pruneJournal } from '../../../shared/recoveryPoints/journalPrune';
import { uniqueName, useAzurite } from '../../helpers/azurite';

describe('pruneJournal (real Azurite)', () => {
  const azurite = useAzurite();
  let journal: ContainerClient;

  beforeAll(async () => {
    journal = BlobServiceClient.fromConnectionString(azurite().connectionString).getContainerClient(
      'journal',
    );
    await journal.createIfNotExists();
  });

  const bytes = (sequence: number): Buffer => Buffer.from(`delta ${sequence}`);

  async function journalAt(vm: string, generation: number, segments: number[], legacy: number[]) {
    const writer = new JournalWriter(journal);
    for (const sequence of segments)
      await writer.append({ resourceGroup: 'rg', vm, generation, sequence }, bytes(sequence));
    for (const sequence of legacy) {
      await journal
        .getBlockBlobClient(deltaBlobName({ resourceGroup: 'rg', vm, generation, sequence }))
        .uploadData(bytes(sequence));
    }
  }

  async function names(vm: string): Promise<string[]> {
    return (await journalBlobs(journal, { resourceGroup: 'rg', vm })).map((b) =>
      b.blobName.slice(`rg/${vm}/`.length).replace(/^([0-9]+)\/0*([0-9])/, '$1/$2'),
    );
  }

  it('deletes only whole segments at or below the floor, and legacy deltas at or below it', async () => {
    const vm = uniqueName('vm');
    // Generation 1 is older than every kept point; 3 is newer (a resync with no point yet).
    await journalAt(vm, 1, [5, 300], [2]);
    await journalAt(vm, 2, [10, 255, 256, 511, 600, 767, 768], [100, 300, 600, 700]);
    await journalAt(vm, 3, [1], [2]);
    expect(await names(vm)).toEqual([
      '1/0.journal',
      '1/2.delta',
      '1/256.journal',
      '2/0.journal',
      '2/100.delta',
      '2/256.journal',
      '2/300.delta',
      '2/512.journal',
      '2/600.delta',
      '2/700.delta',
      '2/768.journal',
      '3/0.journal',
      '3/2.delta',
    ]);
    // Kept points of generation 2 at 600 and 900: replaying after 600 needs 601 on.
    const deleted = await pruneJournal(journal, 'rg', vm, [
      { generation: 2, sequence: 900 },
      { generation: 2, sequence: 600 },
    ]);
    expect(await names(vm)).toEqual([
      '2/512.journal',
      '2/700.delta',
      '2/768.journal',
      '3/0.journal',
      '3/2.delta',
    ]);
    expect(deleted).toBe(8);
    // What a point can replay from is still there, frames of the kept segment before it included.
    const reader = new JournalReader(journal, { resourceGroup: 'rg', vm, generation: 2 }, 600);
    expect((await reader.next())?.toString()).toBe('delta 600');
    expect(await reader.next()).toBeUndefined();
    reader.close();
    // Nothing more to prune: a second run deletes nothing.
    expect(
      await pruneJournal(journal, 'rg', vm, [
        { generation: 2, sequence: 900 },
        { generation: 2, sequence: 600 },
      ]),
    ).toBe(0);
  });

  it('keeps a segment until the floor reaches its last sequence (start + 255)', async () => {
    const vm = uniqueName('vm');
    await journalAt(vm, 1, [1, 2, 3, 254], []);
    expect(await pruneJournal(journal, 'rg', vm, [{ generation: 1, sequence: 254 }])).toBe(0);
    expect(await names(vm)).toEqual(['1/0.journal']);
    expect(await pruneJournal(journal, 'rg', vm, [{ generation: 1, sequence: 255 }])).toBe(1);
    expect(await names(vm)).toEqual([]);
  });
});
