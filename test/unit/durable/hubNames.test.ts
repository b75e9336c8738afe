import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { fnv1a32, hubResourceNames, partitionOf, sanitizeHubName } from '../../../host/durable/hubNames';
import { escapeKey, sequenceRowKey, unescapeKey } from '../../../host/durable/tableKeys';

describe('FNV-1a partitioning', () => {
  it('matches the reference FNV-1a 32-bit values', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('hashes the UTF-8 bytes', () => {
    // "é" is two bytes in UTF-8: c3 a9.
    let h = 0x811c9dc5;
    for (const byte of [0xc3, 0xa9]) h = Math.imul(h ^ byte, 16777619) >>> 0;
    expect(fnv1a32('é')).toBe(h);
  });

  it('spreads instances over the control queues', () => {
    expect(partitionOf('a', 4)).toBe(0xe40c292c % 4);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) (counts[partitionOf(`instance-${i}`, 4)] as number)++;
    for (const c of counts) expect(c).toBeGreaterThan(800);
  });
});

describe('hub names', () => {
  it('keeps valid names and reduces others to letters and digits', () => {
    expect(sanitizeHubName('TestHubName')).toBe('TestHubName');
    expect(sanitizeHubName('my-app_01.prod')).toBe('myapp01prod');
    expect(sanitizeHubName('9lives')).toBe('Hub9lives');
    expect(sanitizeHubName('a')).toBe('aHub');
    expect(sanitizeHubName('--')).toBe('Hub');
    expect(sanitizeHubName('x'.repeat(60))).toHaveLength(45);
  });

  it('always yields a valid table and queue name', () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 1, max: 16 }), (name, partitions) => {
        const hub = sanitizeHubName(name);
        expect(hub).toMatch(/^[A-Za-z][A-Za-z0-9]{2,44}$/);
        const names = hubResourceNames(hub, partitions);
        expect(names.instancesTable).toMatch(/^[A-Za-z][A-Za-z0-9]{2,62}$/);
        for (const q of [...names.controlQueues, names.workItemQueue, names.largeMessagesContainer]) {
          expect(q).toMatch(/^[a-z0-9](?:[a-z0-9]|-(?!-)){2,62}$/);
        }
      }),
    );
  });

  it('lays the hub out like the Azure Storage provider', () => {
    expect(hubResourceNames('MyHub', 3)).toEqual({
      hub: 'MyHub',
      instancesTable: 'MyHubInstances',
      historyTable: 'MyHubHistory',
      timersTable: 'MyHubTimers',
      controlQueues: ['myhub-control-00', 'myhub-control-01', 'myhub-control-02'],
      workItemQueue: 'myhub-workitems',
      largeMessagesContainer: 'myhub-largemessages',
    });
  });
});

describe('table keys', () => {
  it('escapes the characters table keys cannot hold, reversibly', () => {
    expect(escapeKey('a/b\\c#d?e^f')).toBe('a^0b^1c^2d^3e^^f');
    expect(escapeKey('tab\there')).toBe('tab^x09here');
    fc.assert(
      fc.property(fc.string(), (s) => {
        const escaped = escapeKey(s);
        expect([...escaped].some((c) => '/\\#?'.includes(c) || c.charCodeAt(0) < 0x20)).toBe(false);
        expect(unescapeKey(escaped)).toBe(s);
      }),
    );
  });

  it('keeps prefixes, so a prefix query finds the same instances', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        expect(escapeKey(a + b).startsWith(escapeKey(a))).toBe(true);
      }),
    );
  });

  it('writes history sequence numbers as X16', () => {
    expect(sequenceRowKey(0)).toBe('0000000000000000');
    expect(sequenceRowKey(255)).toBe('00000000000000FF');
  });
});
