import { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import { describe, expect, it } from 'vitest';

import { BlobDeltaSink, CacheCredentialsError } from '../../../agent/deltaSink';
import { agentStatusBlobName } from '../../../shared/agentConfig';
import { deltaBlobName } from '../../../shared/delta';
import { issueTestCacheCredentials } from '../../helpers/agentCredentials';
import { useAzurite, uniqueName } from '../../helpers/azurite';

const name = (sequence: number, generation = 1): string =>
  deltaBlobName({ resourceGroup: 'rg', vm: 'vm', generation, sequence });

describe("BlobDeltaSink with the agent's cache credentials (real Azurite)", () => {
  const azurite = useAzurite();

  it('creates deltas of its window once, never overwrites, writes its status, and cannot read or list', async () => {
    const service = BlobServiceClient.fromConnectionString(azurite().connectionString);
    const container = uniqueName('cache');
    await service.getContainerClient(container).create();
    const credentials = issueTestCacheCredentials(azurite().connectionString, {
      resourceGroup: 'rg',
      vm: 'vm',
      firstSequence: 2,
      window: 3,
      container,
    });
    const sink = new BlobDeltaSink(credentials);
    expect(await sink.putDelta(name(2), Buffer.from('first'), { sequence: '2' })).toBe('created');
    expect(await sink.putDelta(name(2), Buffer.from('second'), { sequence: '2' })).toBe('exists');
    const blob = service.getContainerClient(container).getBlobClient(name(2));
    expect((await blob.downloadToBuffer()).toString()).toBe('first');
    expect((await blob.getProperties()).metadata).toMatchObject({ sequence: '2' });

    // Below the window: the control plane saw it shipped or applied; the sink keeps what is there.
    expect(await sink.putDelta(name(1), Buffer.from('old'), {})).toBe('exists');
    expect(await service.getContainerClient(container).getBlobClient(name(1)).exists()).toBe(false);
    // Past its end, or another generation: no credential yet, nothing sent.
    for (const [sequence, generation] of [
      [5, 1],
      [2, 2],
    ] as const) {
      const err = await sink
        .putDelta(name(sequence, generation), Buffer.from('x'), {})
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CacheCredentialsError);
      expect(err).toMatchObject({ code: 'Unauthorized', reason: 'pending', retryable: true });
    }

    await sink.putJson(agentStatusBlobName('rg', 'vm'), { n: 1 });
    await sink.putJson(agentStatusBlobName('rg', 'vm'), { n: 2 });
    const status = service.getContainerClient(container).getBlobClient(agentStatusBlobName('rg', 'vm'));
    expect(JSON.parse((await status.downloadToBuffer()).toString())).toEqual({ n: 2 });

    const agentView = new ContainerClient(`${credentials.containerUrl}?${credentials.statusSas}`, undefined, {
      retryOptions: { maxTries: 1 },
    });
    await expect(
      agentView.getBlobClient(agentStatusBlobName('rg', 'vm')).downloadToBuffer(),
    ).rejects.toThrow();
    await expect(agentView.listBlobsFlat().next()).rejects.toThrow();
  });

  it('reports credentials the cache refuses (expired) as such', async () => {
    const credentials = issueTestCacheCredentials(azurite().connectionString, {
      resourceGroup: 'rg',
      vm: 'vm',
      validForMs: -60_000,
    });
    await BlobServiceClient.fromConnectionString(azurite().connectionString)
      .getContainerClient('cache')
      .createIfNotExists();
    const err = await new BlobDeltaSink(credentials)
      .putDelta(name(1), Buffer.from('x'), {})
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'Unauthorized', reason: 'refused' });
  });
});
