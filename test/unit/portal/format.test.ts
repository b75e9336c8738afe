import { describe, expect, it } from 'vitest';

import {
  formatAgo,
  formatBytes,
  formatElapsed,
  formatRpo,
  formatSeconds,
  formatTime,
  healthClass,
  humanize,
  isoToLocalInput,
  localInputToIso,
  rpoLevel,
  toDate,
  vmKey,
  vmLabel,
} from '../../../portal/lib/format.js';

describe('portal formatting', () => {
  it('words durations in the largest two units', () => {
    expect(formatSeconds(0)).toBe('0 s');
    expect(formatSeconds(42.4)).toBe('42 s');
    expect(formatSeconds(245)).toBe('4 min 05 s');
    expect(formatSeconds(2 * 3600 + 3 * 60 + 59)).toBe('2 h 03 min');
    expect(formatSeconds(3 * 86400 + 4 * 3600)).toBe('3 d 04 h');
    expect(formatSeconds(-5)).toBe('0 s');
    expect(formatSeconds(Number.NaN)).toBe('—');
  });

  it('shows no RPO before the first delta, and grades it by the health thresholds', () => {
    expect(formatRpo(null)).toBe('—');
    expect(formatRpo(undefined)).toBe('—');
    expect(formatRpo(12)).toBe('12 s');
    expect(rpoLevel(null)).toBe('unknown');
    expect(rpoLevel(900)).toBe('ok');
    expect(rpoLevel(901)).toBe('warning');
    expect(rpoLevel(1800)).toBe('warning');
    expect(rpoLevel(1801)).toBe('critical');
  });

  it('reads ISO strings and epoch milliseconds alike', () => {
    const iso = '2026-11-26T06:30:05.000Z';
    expect(toDate(iso)?.getTime()).toBe(Date.parse(iso));
    expect(toDate(Date.parse(iso))?.toISOString()).toBe(iso);
    expect(toDate(null)).toBeUndefined();
    expect(toDate('')).toBeUndefined();
    expect(toDate('soon')).toBeUndefined();
    expect(formatTime(iso, { utc: true })).toBe('2026-11-26 06:30:05');
    expect(formatTime(Date.parse(iso), { utc: true })).toBe('2026-11-26 06:30:05');
    expect(formatTime(undefined)).toBe('—');
  });

  it('formats local times from the Date getters', () => {
    const d = new Date(2026, 0, 2, 3, 4, 5);
    expect(formatTime(d.getTime())).toBe('2026-01-02 03:04:05');
    expect(isoToLocalInput(d)).toBe('2026-01-02T03:04:05');
    expect(localInputToIso('2026-01-02T03:04:05')).toBe(d.toISOString());
    expect(localInputToIso('2026-01-02T03:04')).toBe(new Date(2026, 0, 2, 3, 4).toISOString());
    expect(localInputToIso('')).toBeUndefined();
    expect(localInputToIso('yesterday')).toBeUndefined();
    expect(localInputToIso('2026-13-45T99:99')).toBeUndefined();
  });

  it('says how long ago and how long something took', () => {
    const now = Date.parse('2026-01-01T00:10:00Z');
    expect(formatAgo('2026-01-01T00:09:48Z', now)).toBe('12 s ago');
    expect(formatAgo(now, now)).toBe('just now');
    expect(formatAgo(null, now)).toBe('—');
    expect(formatElapsed('2026-01-01T00:08:00Z', '2026-01-01T00:09:12Z', now)).toBe('1 min 12 s');
    expect(formatElapsed('2026-01-01T00:08:00Z', null, now)).toBe('2 min 00 s');
    expect(formatElapsed(null, null, now)).toBe('—');
  });

  it('words bytes in binary units', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(4 * 1024 * 1024)).toBe('4.00 MiB');
    expect(formatBytes(1.25 * 1024 ** 3)).toBe('1.25 GiB');
    expect(formatBytes(300 * 1024)).toBe('300.0 KiB');
    expect(formatBytes(undefined)).toBe('—');
  });

  it('names states, kinds, health classes and VMs', () => {
    expect(humanize('InitialReplication')).toBe('Initial replication');
    expect(humanize('TestFailoverCleanup')).toBe('Test failover cleanup');
    expect(humanize('Protected')).toBe('Protected');
    expect(humanize(null)).toBe('—');
    expect(healthClass('Healthy')).toBe('healthy');
    expect(healthClass('Warning')).toBe('warning');
    expect(healthClass('Critical')).toBe('critical');
    expect(healthClass(undefined)).toBe('none');
    expect(vmLabel({ resourceGroup: 'shop-rg', name: 'web1' })).toBe('shop-rg/web1');
    expect(vmLabel(null)).toBe('—');
    expect(vmKey('Shop-RG', 'Web1')).toBe(vmKey('shop-rg', 'web1'));
  });
});
