/**
 * The agent's cache credentials as issued (shared/cacheSas.ts), without storage: one blob SAS per
 * name, the shared part of the delta signatures really shared, and the window maths the agent and
 * the top-up use.
 */
import {
  BlobSASPermissions,
  generateBlobSASQueryParameters,
  SASProtocol,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';
import { describe, expect, it } from 'vitest';

import { parseAgentConfig } from '../../../shared/agentConfig';
import {
  deltaSasQuery,
  issueAgentCacheCredentials,
  lastSequenceIn,
  sasExpiresAt,
  splitSignature,
  windowRenewalReason,
} from '../../../shared/cacheSas';
import { deltaBlobName } from '../../../shared/delta';
import { renewBeforeMs } from '../../../shared/replication/cacheCredentials';
import { fakeCacheCredentials } from '../../helpers/agentCredentials';

const KEY = Buffer.alloc(64, 7).toString('base64');
const HTTPS = `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${KEY};EndpointSuffix=core.windows.net`;
const HTTP = `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${KEY};BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;`;
const startsOn = new Date(Date.UTC(2026, 0, 1));
const expiresOn = new Date(Date.UTC(2026, 0, 8));
const HOUR = 3_600_000;

function issue(connection = HTTPS, firstSequence = 5, window = 8) {
  return issueAgentCacheCredentials(connection, {
    resourceGroup: 'rg',
    vm: 'vm',
    generation: 3,
    firstSequence,
    window,
    startsOn,
    expiresOn,
  });
}

describe("the agent's cache credentials", () => {
  it('are blob SAS: cw for the status blob, c for each delta, the same query but sig for all deltas', () => {
    const c = issue();
    expect(c.containerUrl).toBe('https://acct.blob.core.windows.net/cache');
    const status = new URLSearchParams(c.statusSas);
    expect(status.get('sr')).toBe('b');
    expect(status.get('sp')).toBe('cw');
    expect(status.get('spr')).toBe('https');
    expect(status.get('sig')).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    const shared = new URLSearchParams(c.deltaSas.query);
    expect(Object.fromEntries(shared)).toMatchObject({ sr: 'b', sp: 'c', spr: 'https' });
    expect(shared.has('sig')).toBe(false);
    expect(sasExpiresAt(c.deltaSas.query)).toBe(expiresOn.getTime());
    expect(c.deltaSas).toMatchObject({ generation: 3, firstSequence: 5 });
    expect(c.deltaSas.signatures).toHaveLength(8);
    expect(new Set(c.deltaSas.signatures).size).toBe(8);
    expect(parseAgentConfig({ version: 2, vmId: 'rg/vm', generation: 3, cache: c }).ok).toBe(true);
  });

  it('the shared query is exactly what the SDK signs for every delta name, apart from sig', () => {
    const c = issue();
    const credential = new StorageSharedKeyCredential('acct', KEY);
    for (let seq = 5; seq <= 12; seq++) {
      const name = deltaBlobName({ resourceGroup: 'rg', vm: 'vm', generation: 3, sequence: seq });
      const own = generateBlobSASQueryParameters(
        {
          containerName: 'cache',
          blobName: name,
          permissions: BlobSASPermissions.parse('c'),
          startsOn,
          expiresOn,
          protocol: SASProtocol.Https,
        },
        credential,
      ).toString();
      const split = splitSignature(own);
      expect(split.query).toBe(c.deltaSas.query);
      expect(split.signature).toBe(c.deltaSas.signatures[seq - 5]);
      // What the agent sends is byte for byte what the SDK would have made for that blob alone.
      expect(deltaSasQuery(c.deltaSas, 3, seq)).toBe(own);
    }
  });

  it('keeps http for an http account (Azurite), https only for an https one', () => {
    expect(new URLSearchParams(issue(HTTP).deltaSas.query).get('spr')).toBe('https,http');
    expect(issue(HTTP).containerUrl).toBe('http://127.0.0.1:10000/devstoreaccount1/cache');
  });

  it('are refused for a window out of bounds or an account without a key', () => {
    expect(() => issue(HTTPS, 0)).toThrow(/starts at sequence 1 or later/);
    expect(() => issue(HTTPS, 1, 0)).toThrow(/covers 1 to 1024/);
    expect(() => issue(HTTPS, 1, 1025)).toThrow(/covers 1 to 1024/);
    expect(() =>
      issue('BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=sv=1&sig=x'),
    ).toThrow(/no account key/);
  });
});

describe('the delta window', () => {
  const window = fakeCacheCredentials({ generation: 2, firstSequence: 10, window: 4 }).deltaSas;

  it('has a signature for each of its numbers of its generation, and none for any other', () => {
    expect(lastSequenceIn(window)).toBe(13);
    for (let seq = 10; seq <= 13; seq++) {
      expect(deltaSasQuery(window, 2, seq)).toBe(
        `${window.query}&sig=${encodeURIComponent(window.signatures[seq - 10]!)}`,
      );
    }
    for (const [generation, seq] of [
      [2, 9],
      [2, 14],
      [1, 10],
      [3, 10],
      [2, 0],
    ] as const) {
      expect(deltaSasQuery(window, generation, seq)).toBeUndefined();
    }
  });

  it('needs renewing once fewer than half of a window are left, the next number is not in it, or it expires soon', () => {
    const now = Date.UTC(2026, 0, 1);
    const check = (lastUsed: number, size = 4, at = now) =>
      windowRenewalReason({ window, lastUsed, now: at, size, renewBeforeMs: 24 * HOUR });
    // Window 10..13, expiring 2099.
    expect(check(9)).toBeUndefined(); // 4 left
    expect(check(11)).toBeUndefined(); // 2 left: half
    expect(check(12)).toBe('used'); // 1 left
    expect(check(13)).toBe('used'); // none left
    expect(check(20)).toBe('used');
    expect(check(8)).toBe('behind'); // 9 is not covered
    expect(check(9, 512)).toBe('used'); // the setting grew: 4 left of 512
    expect(check(9, 4, Date.UTC(2098, 11, 31, 1))).toBe('expiring');
    expect(check(9, 4, Date.UTC(2098, 11, 30))).toBeUndefined();
  });

  it('renews a day before expiry, or half way through a shorter lifetime', () => {
    expect(renewBeforeMs({ window: 512, lifetimeMs: 168 * HOUR })).toBe(24 * HOUR);
    expect(renewBeforeMs({ window: 512, lifetimeMs: 2 * HOUR })).toBe(HOUR);
  });
});
