import { BlobServiceClient } from '@azure/storage-blob';
import { describe, expect, it } from 'vitest';

import { BlobDeltaSink } from '../../../agent/deltaSink';
import { agentCacheSasUrl } from '../../../shared/cacheSas';
import { useAzurite, uniqueName } from '../../helpers/azurite';

describe('BlobDeltaSink with the agent SAS (real Azurite)', () => {
  const azurite = useAzurite();

  it('creates deltas once, never overwrites, and cannot read or list', async () => {
    const service = BlobServiceClient.fromConnectionString(azurite().connectionString);
    const name = uniqueName('cache');
    await service.getContainerClient(name).create();
    const now = Date.now();
    const url = agentCacheSasUrl(azurite().connectionString, name, {
      startsOn: new Date(now - 60_000),
      expiresOn: new Date(now + 3_600_000),
    });
    const sink = BlobDeltaSink.fromSasUrl(url);
    expect(
      await sink.putDelta('rg/vm/1/00000000000000000001.delta', Buffer.from('first'), { sequence: '1' }),
    ).toBe('created');
    expect(
      await sink.putDelta('rg/vm/1/00000000000000000001.delta', Buffer.from('second'), { sequence: '1' }),
    ).toBe('exists');
    const blob = service.getContainerClient(name).getBlobClient('rg/vm/1/00000000000000000001.delta');
    expect((await blob.downloadToBuffer()).toString()).toBe('first');
    expect((await blob.getProperties()).metadata).toMatchObject({ sequence: '1' });

    const { ContainerClient } = await import('@azure/storage-blob');
    const agentView = new ContainerClient(url);
    await expect(
      agentView.getBlobClient('rg/vm/1/00000000000000000001.delta').downloadToBuffer(),
    ).rejects.toThrow();
    await expect(agentView.listBlobsFlat().next()).rejects.toThrow();
  });
});
