import { describe, expect, it } from 'vitest';

import { checkAgentConfig } from '../../../agent/agentConfig';
import {
  agentConfigBlobName,
  agentConfigBody,
  agentStatusBlobName,
  MAX_CONFIG_BYTES,
  MAX_DELTA_SAS_WINDOW,
  parseAgentConfig,
} from '../../../shared/agentConfig';
import { parseLun } from '../../../shared/vmDisks';
import { fakeAgentConfig, fakeCacheCredentials } from '../../helpers/agentCredentials';

const base = fakeAgentConfig({ generation: 3 });
const sig = base.cache.deltaSas.signatures[0]!;

/** `base` with its delta window changed. */
function withDeltaSas(change: Record<string, unknown>): Record<string, unknown> {
  return { ...base, cache: { ...base.cache, deltaSas: { ...base.cache.deltaSas, ...change } } };
}

function problemOf(value: unknown): string {
  const result = parseAgentConfig(value);
  if (result.ok) throw new Error('accepted');
  return result.problem;
}

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
    const problem = problemOf({
      ...base,
      version: 3,
      generation: 0,
      cache: { ...base.cache, containerUrl: 'file:///etc/passwd' },
      maxDeltaBytes: 65 * 1024 * 1024,
      appConsistentRequest: 1.5,
    });
    for (const field of [
      'version',
      'generation',
      'cache.containerUrl',
      'maxDeltaBytes',
      'appConsistentRequest',
    ]) {
      expect(problem).toContain(`${field}:`);
    }
  });

  it('refuses a version 1 config (one SAS for the whole cache) and says to enable replication again', () => {
    const problem = problemOf({
      version: 1,
      vmId: 'rg/vm',
      generation: 3,
      cacheContainerSasUrl: 'https://acct.blob.core.windows.net/cache?sv=x&sr=c&sp=cw&sig=x',
    });
    expect(problem).toMatch(/^version: config version 1 .* re-run enable replication/);
    expect(problem).not.toMatch(/cache:/);
    expect(checkAgentConfig(JSON.stringify({ version: 1 }), 'rg/vm', 'x')).toMatchObject({
      kind: 'invalid',
      problem: /x: version: config version 1/,
    });
  });

  it('wants base64 HMAC-SHA256 signatures, a bounded window from sequence 1 up, of its own generation', () => {
    expect(parseAgentConfig(base).ok).toBe(true);
    for (const bad of [
      '',
      'x',
      sig.slice(0, 43),
      `${sig.slice(0, 43)}%`,
      `${sig}=`,
      sig.replace(/.$/, 'A'),
      'a'.repeat(44),
    ]) {
      expect(problemOf(withDeltaSas({ signatures: [sig, bad] })), bad).toMatch(
        /cache\.deltaSas\.signatures\.1: must be a base64 HMAC-SHA256 signature/,
      );
    }
    expect(problemOf(withDeltaSas({ signatures: [] }))).toMatch(/cache\.deltaSas\.signatures:/);
    expect(problemOf(withDeltaSas({ signatures: Array(MAX_DELTA_SAS_WINDOW + 1).fill(sig) }))).toMatch(
      /cache\.deltaSas\.signatures:/,
    );
    expect(parseAgentConfig(withDeltaSas({ signatures: Array(MAX_DELTA_SAS_WINDOW).fill(sig) })).ok).toBe(
      true,
    );
    expect(problemOf(withDeltaSas({ firstSequence: 0 }))).toMatch(/cache\.deltaSas\.firstSequence:/);
    expect(problemOf(withDeltaSas({ firstSequence: 1.5 }))).toMatch(/cache\.deltaSas\.firstSequence:/);
    expect(problemOf(withDeltaSas({ generation: 4 }))).toMatch(
      /cache\.deltaSas\.generation: is 4, not the config's generation 3/,
    );
    expect(problemOf(withDeltaSas({ firstSequence: Number.MAX_SAFE_INTEGER }))).toMatch(/ends past/);
  });

  it('wants blob SAS queries: a sig on the status one, none on the shared delta query', () => {
    const q = base.cache.deltaSas.query;
    expect(problemOf(withDeltaSas({ query: `${q}&sig=${encodeURIComponent(sig)}` }))).toMatch(
      /cache\.deltaSas\.query: must not carry a sig/,
    );
    expect(problemOf(withDeltaSas({ query: q.replace('sr=b', 'sr=c') }))).toMatch(
      /cache\.deltaSas\.query: must be a blob SAS/,
    );
    expect(problemOf(withDeltaSas({ query: `?${q}` }))).toMatch(
      /cache\.deltaSas\.query: must be a SAS query/,
    );
    expect(problemOf(withDeltaSas({ query: `${q}#x` }))).toMatch(/cache\.deltaSas\.query:/);
    const status = (statusSas: string): unknown => ({ ...base, cache: { ...base.cache, statusSas } });
    expect(problemOf(status('sv=2026-04-06&sr=b&sp=cw'))).toMatch(/cache\.statusSas: has no sig/);
    expect(problemOf(status('sv=1&sr=c&sp=cw&sig=x'))).toMatch(/cache\.statusSas: must be a blob SAS/);
    const url = (containerUrl: string): unknown => ({ ...base, cache: { ...base.cache, containerUrl } });
    expect(problemOf(url('https://acct.blob.core.windows.net/cache?sv=1'))).toMatch(/cache\.containerUrl:/);
    expect(parseAgentConfig(url('https://acct.blob.core.windows.net/cache')).ok).toBe(true);
  });

  it('writes a full window in compact JSON, under what the agent reads', () => {
    const config = fakeAgentConfig({ cache: fakeCacheCredentials({ window: 512 }) });
    expect(agentConfigBody(config).length).toBeLessThan(26 * 1024);
    const largest = fakeAgentConfig({ cache: fakeCacheCredentials({ window: MAX_DELTA_SAS_WINDOW }) });
    expect(agentConfigBody(largest).length).toBeLessThan(MAX_CONFIG_BYTES);
    expect(() => agentConfigBody({ ...largest, padding: 'x'.repeat(MAX_CONFIG_BYTES) })).toThrow(
      /reads at most 65536/,
    );
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
