import { describe, expect, it } from 'vitest';

import { checkAgentConfig } from '../../../agent/agentConfig';
import { agentConfigBlobName, agentStatusBlobName, parseAgentConfig } from '../../../shared/agentConfig';
import { parseLun } from '../../../shared/vmDisks';

const base = {
  version: 1,
  vmId: 'rg/vm',
  generation: 3,
  cacheContainerSasUrl: 'https://acct.blob.core.windows.net/cache?sig=x',
};

describe('agent replication config', () => {
  it('fills in the defaults', () => {
    expect(parseAgentConfig(base)).toEqual({
      ok: true,
      config: {
        ...base,
        flushIntervalMs: 1000,
        maxDeltaBytes: 8 * 1024 * 1024,
        heartbeatIntervalMs: 30_000,
        maxBufferBytes: 64 * 1024 * 1024,
      },
    });
  });

  it('names every field that is wrong', () => {
    const result = parseAgentConfig({
      ...base,
      version: 2,
      generation: 0,
      cacheContainerSasUrl: 'file:///etc/passwd',
      maxDeltaBytes: 65 * 1024 * 1024,
      appConsistentRequest: 1.5,
    });
    expect(result.ok).toBe(false);
    const problem = result.ok ? '' : result.problem;
    for (const field of [
      'version',
      'generation',
      'cacheContainerSasUrl',
      'maxDeltaBytes',
      'appConsistentRequest',
    ]) {
      expect(problem).toContain(`${field}:`);
    }
  });

  it('bounds maxDeltaBytes to 1..64 MiB and wants a VM id of the form rg/vm', () => {
    expect(parseAgentConfig({ ...base, maxDeltaBytes: 1024 * 1024 }).ok).toBe(true);
    expect(parseAgentConfig({ ...base, maxDeltaBytes: 64 * 1024 * 1024 }).ok).toBe(true);
    expect(parseAgentConfig({ ...base, maxDeltaBytes: 1024 * 1024 - 1 }).ok).toBe(false);
    expect(parseAgentConfig({ ...base, vmId: 'just-a-vm' })).toMatchObject({
      ok: false,
      problem: /vmId: VM id/,
    });
  });

  it('tells the agent apart a missing, malformed, foreign and valid blob', () => {
    expect(checkAgentConfig('{', 'rg/vm', 'agent-config/rg/vm.json')).toMatchObject({
      kind: 'invalid',
      problem: /^agent-config\/rg\/vm\.json is not JSON/,
    });
    expect(checkAgentConfig(JSON.stringify({ ...base, vmId: 'rg/other' }), 'rg/vm', 'x')).toMatchObject({
      kind: 'invalid',
      problem: /vmId is rg\/other, not this VM \(rg\/vm\)/,
    });
    expect(checkAgentConfig(JSON.stringify(base), 'rg/vm', 'x')).toMatchObject({
      kind: 'valid',
      config: { generation: 3 },
    });
  });

  it('names the config and status blobs', () => {
    expect(agentConfigBlobName('rg', 'vm')).toBe('rg/vm.json');
    expect(agentStatusBlobName('rg', 'vm')).toBe('rg/vm/agent.json');
    expect(() => agentConfigBlobName('rg/x', 'vm')).toThrow(/not of the form/);
  });

  it('reads lun metadata strictly', () => {
    expect(['0', '7', '65535'].map(parseLun)).toEqual([0, 7, 65535]);
    expect(['', '01', '-1', '65536', '1.0', ' 1', undefined].map(parseLun)).toEqual(Array(7).fill(undefined));
  });
});
