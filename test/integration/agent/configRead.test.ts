/**
 * The agent's config poll against real Azurite: with the previous read kept, an unchanged config is
 * not downloaded or parsed again (304), a changed one is, and a deleted one reads absent.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { describe, expect, it } from 'vitest';

import { type ConfigReadCache, readAgentConfig } from '../../../agent/agentConfig';
import { agentConfigBlobName, writeAgentConfig } from '../../../shared/agentConfig';
import { testAgentConfig } from '../../helpers/agentCredentials';
import { uniqueName, useAzurite } from '../../helpers/azurite';

describe("the agent's config poll (real Azurite)", () => {
  const azurite = useAzurite();

  it('downloads the config only when it changed', async () => {
    const service = BlobServiceClient.fromConnectionString(azurite().connectionString);
    const container = service.getContainerClient(uniqueName('agent-config'));
    await container.create();
    const config = testAgentConfig(azurite().connectionString, { resourceGroup: 'rg', vm: 'vm' });
    await writeAgentConfig(container, config);

    const cache: { current?: ConfigReadCache } = {};
    const first = await readAgentConfig(container, 'rg', 'vm', cache);
    expect(first).toMatchObject({ kind: 'valid', config: { vmId: 'rg/vm', flushIntervalMs: 1000 } });
    const etag = cache.current?.etag;
    expect(etag).toEqual(expect.any(String));
    // Unchanged: the very same read comes back (the 304 carried no body to parse).
    expect(await readAgentConfig(container, 'rg', 'vm', cache)).toBe(first);

    await writeAgentConfig(container, { ...config, flushIntervalMs: 250 });
    const changed = await readAgentConfig(container, 'rg', 'vm', cache);
    expect(changed).not.toBe(first);
    expect(changed).toMatchObject({ kind: 'valid', config: { flushIntervalMs: 250 } });
    expect(cache.current?.etag).not.toBe(etag);

    // A blob that is no config any more is read and refused, then deleted: absent, cache dropped.
    await container.getBlockBlobClient(agentConfigBlobName('rg', 'vm')).upload('{', 1);
    expect(await readAgentConfig(container, 'rg', 'vm', cache)).toMatchObject({ kind: 'invalid' });
    await container.getBlobClient(agentConfigBlobName('rg', 'vm')).delete();
    expect(await readAgentConfig(container, 'rg', 'vm', cache)).toEqual({ kind: 'absent' });
    expect(cache.current).toBeUndefined();
    // Without a cache every read downloads and parses.
    await writeAgentConfig(container, config);
    const a = await readAgentConfig(container, 'rg', 'vm');
    expect(await readAgentConfig(container, 'rg', 'vm')).not.toBe(a);
  });
});
