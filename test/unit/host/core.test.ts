import { describe, expect, it } from 'vitest';

import { CoreApi } from '../../../host/core/coreApi';
import { retryDelay, retryPolicyFor } from '../../../host/core/retry';
import { resolveBindingExpression } from '../../../host/bindings/expressions';
import { Settings } from '../../../host/settings';
import { normalizeConnectionString } from '../../../host/storage';
import { parseTimeSpan } from '../../../host/timeSpan';
import { isTidemarkError } from '../../../shared/errors';

describe('CoreApi', () => {
  const core = () => new CoreApi(() => undefined);

  it('refuses a duplicate function id and late registrations', () => {
    const api = core();
    api.registerFunction({ name: 'a', bindings: {} }, () => undefined);
    expect(() => api.registerFunction({ name: 'a', bindings: {} }, () => undefined)).toThrow(
      /already been registered/,
    );
    api.lockRegistrations();
    expect(() => api.registerFunction({ name: 'b', bindings: {} }, () => undefined)).toThrow(/startup/);
  });

  it('throws the RangeError the library expects for unknown hooks', () => {
    const err = (() => {
      try {
        core().registerHook('log', () => undefined);
      } catch (e) {
        return e as RangeError & { isAzureFunctionsSystemError?: boolean };
      }
    })();
    expect(err?.name).toBe('RangeError');
    expect(err?.isAzureFunctionsSystemError).toBe(true);
  });

  it('disposes hooks', () => {
    const api = core();
    const d = api.registerHook('preInvocation', () => undefined);
    expect(api.hooks.preInvocation).toHaveLength(1);
    d.dispose();
    expect(api.hooks.preInvocation).toHaveLength(0);
  });
});

describe('parseTimeSpan', () => {
  it.each([
    ['00:00:05', 5_000],
    ['00:05:00', 300_000],
    ['1.02:00:00', 93_600_000],
    ['00:00:01.5', 1_500],
    ['2', 172_800_000],
  ])('%s', (text, ms) => expect(parseTimeSpan(text, 't')).toBe(ms));

  it('rejects garbage with a typed error', () => {
    expect(() => parseTimeSpan('5 minutes', 'functionTimeout')).toThrow(/not a TimeSpan/);
    expect(() => parseTimeSpan('00:61:00', 'x')).toThrow();
  });
});

describe('Settings', () => {
  it('resolves %Setting% references and reports unknown ones', () => {
    const s = new Settings({ Q: 'orders', 'A:B': 'nested' });
    expect(s.resolve('%Q%-in', 'queueName')).toBe('orders-in');
    expect(s.get('A__B')).toBe('nested');
    try {
      s.resolve('%NOPE%', 'queueName');
      expect.unreachable();
    } catch (err) {
      expect(isTidemarkError(err, 'InvalidConfig')).toBe(true);
    }
  });
});

describe('binding expressions', () => {
  const settings = new Settings({ C: 'out' });
  const now = new Date('2026-01-02T03:04:05Z');
  it('substitutes binding data case-insensitively, settings and dotted paths', () => {
    expect(
      resolveBindingExpression(
        '%C%/{Name}-{order.id}',
        { name: 'x', order: { Id: 7 } },
        settings,
        now,
        'path',
      ),
    ).toBe('out/x-7');
    expect(resolveBindingExpression('{DateTime}', {}, settings, now, 'path')).toBe(now.toISOString());
    expect(resolveBindingExpression('{rand-guid}', {}, settings, now, 'path')).toMatch(/^[0-9a-f-]{36}$/);
  });
  it('fails on an unknown expression', () => {
    expect(() => resolveBindingExpression('{missing}', {}, settings, now, 'path')).toThrow(/no value/);
  });
});

describe('retry policies', () => {
  it('reads function retry options and computes delays', () => {
    const fn = {
      id: 'f',
      callback: () => undefined,
      metadata: {
        name: 'f',
        bindings: {},
        retryOptions: {
          retryStrategy: 'exponentialBackoff' as const,
          maxRetryCount: 4,
          minimumInterval: { seconds: 1 },
          maximumInterval: { seconds: 5 },
        },
      },
    };
    const policy = retryPolicyFor(fn, undefined)!;
    expect([1, 2, 3, 4].map((n) => retryDelay(policy, n))).toEqual([1000, 2000, 4000, 5000]);
  });
  it('reads host.json retry and rejects a bad one', () => {
    const fn = { id: 'f', callback: () => undefined, metadata: { name: 'f', bindings: {} } };
    const policy = retryPolicyFor(fn, {
      strategy: 'fixedDelay',
      maxRetryCount: 2,
      delayInterval: '00:00:03',
    })!;
    expect(retryDelay(policy, 2)).toBe(3000);
    expect(() => retryPolicyFor(fn, { strategy: 'sometimes', maxRetryCount: 1 })).toThrow(/host.json retry/);
  });
});

describe('connection strings', () => {
  it('expands UseDevelopmentStorage=true to the Azurite account', () => {
    const cs = normalizeConnectionString('UseDevelopmentStorage=true');
    expect(cs).toContain('AccountName=devstoreaccount1');
    expect(cs).toContain('BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1');
    expect(
      normalizeConnectionString('UseDevelopmentStorage=true;DevelopmentStorageProxyUri=http://box'),
    ).toContain('http://box:10001/');
  });
});
