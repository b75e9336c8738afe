/** Flag and argument parsing: every bad value is a usage error (exit 1) with what is wrong and the fix. */
import { describe, expect, it } from 'vitest';

import {
  checkVmBody,
  parseAppConsistentMinutes,
  parseDisk,
  parseNetwork,
  parseRecoveryPoint,
  parseRetentionHours,
  parseUrl,
  parseVmRef,
} from '../../../cli/args';
import { CliError } from '../../../cli/errors';

function refused(fn: () => unknown): CliError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    const e = err as CliError;
    expect(e.exitCode).toBe(1);
    expect(e.fix).not.toBe('');
    return e;
  }
  throw new Error('not refused');
}

describe('parseVmRef', () => {
  it('takes RESOURCE_GROUP/NAME', () => {
    expect(parseVmRef('shop-rg/web1')).toEqual({ resourceGroup: 'shop-rg', name: 'web1' });
    expect(parseVmRef('Shop.RG(1)/Web_1')).toEqual({ resourceGroup: 'Shop.RG(1)', name: 'Web_1' });
  });

  it('refuses anything else, saying the rule', () => {
    expect(refused(() => parseVmRef('web1')).message).toBe(
      '"web1" is not a VM: it must be RESOURCE_GROUP/NAME.',
    );
    refused(() => parseVmRef('a/b/c'));
    refused(() => parseVmRef('/web1'));
    const e = refused(() => parseVmRef('rg/web-'));
    expect(e.message).toMatch(/VM name "web-" is not valid: it ends with "-"\. Rule: /);
    expect(e.fix).toMatch(/RESOURCE_GROUP\/NAME/);
  });
});

describe('parseRecoveryPoint', () => {
  it('takes the named choices, a point id and an ISO time', () => {
    expect(parseRecoveryPoint('latest')).toBe('latest');
    expect(parseRecoveryPoint('latestProcessed')).toBe('latestProcessed');
    expect(parseRecoveryPoint('latestAppConsistent')).toBe('latestAppConsistent');
    expect(parseRecoveryPoint('rp-1-42')).toEqual({ id: 'rp-1-42' });
    expect(parseRecoveryPoint('2026-11-26T06:30:00Z')).toEqual({ time: '2026-11-26T06:30:00Z' });
  });

  it('refuses other text, listing what it takes', () => {
    const e = refused(() => parseRecoveryPoint('yesterday'));
    expect(e.message).toBe('--recovery-point "yesterday" is not a recovery point.');
    expect(e.fix).toMatch(/latest, latestProcessed, latestAppConsistent, .*rp-1-42.*ISO-8601/);
    refused(() => parseRecoveryPoint('rp-1'));
    refused(() => parseRecoveryPoint('2026-11-26T06:30:00')); // no zone
  });
});

describe('parseDisk', () => {
  it('accumulates NAME:SIZE_GIB in order', () => {
    expect(parseDisk('data:0.125', parseDisk('os:0.25'))).toEqual([
      { name: 'os', sizeGiB: 0.25 },
      { name: 'data', sizeGiB: 0.125 },
    ]);
    expect(parseDisk('os:1')).toEqual([{ name: 'os', sizeGiB: 1 }]);
  });

  it('refuses malformed disks', () => {
    expect(refused(() => parseDisk('os')).message).toBe('--disk "os" is not NAME:SIZE_GIB.');
    expect(refused(() => parseDisk('os:-1')).message).toMatch(/not a number of GiB above 0/);
    refused(() => parseDisk('os:0'));
    refused(() => parseDisk('os:x'));
    refused(() => parseDisk('os:1:2'));
    expect(refused(() => parseDisk('-os:1')).message).toMatch(/Disk name "-os" is not valid/);
  });
});

describe('policy numbers', () => {
  it('takes the API policy ranges', () => {
    expect(parseRetentionHours('0')).toBe(0);
    expect(parseRetentionHours('360')).toBe(360);
    expect(parseAppConsistentMinutes('0')).toBe(0);
    expect(parseAppConsistentMinutes('60')).toBe(60);
  });

  it('refuses negative, fractional, out-of-range and non-numbers', () => {
    const e = refused(() => parseRetentionHours('-1'));
    expect(e.message).toBe(
      '--retention-hours "-1" is not valid: it must be a whole number of hours from 0 (only the latest point) to 360 (15 days).',
    );
    expect(e.fix).toBe('Pass e.g. --retention-hours 24.');
    refused(() => parseRetentionHours('1.5'));
    refused(() => parseRetentionHours('361'));
    refused(() => parseRetentionHours('a day'));
    refused(() => parseAppConsistentMinutes('30'));
    refused(() => parseAppConsistentMinutes('721'));
  });
});

describe('other flags', () => {
  it('checks --url and --network', () => {
    expect(parseUrl('http://127.0.0.1:7071')).toBe('http://127.0.0.1:7071');
    refused(() => parseUrl('127.0.0.1:7071x'));
    refused(() => parseUrl('ftp://host'));
    expect(parseNetwork('test-vnet')).toBe('test-vnet');
    refused(() => parseNetwork('x'));
  });
});

describe('checkVmBody', () => {
  const body = {
    region: 'eastus',
    vnet: 'shop-vnet',
    subnet: 'front',
    size: 'Standard_B1s',
    disks: [{ name: 'os', sizeGiB: 0.25 }],
  };

  it('passes a valid body through', () => {
    expect(checkVmBody(body)).toEqual(body);
  });

  it('lists every wrong flag, named by flag', () => {
    const e = refused(() =>
      checkVmBody({
        ...body,
        size: 'B1s',
        disks: [
          { name: 'os', sizeGiB: 0.1 },
          { name: 'os', sizeGiB: 1 },
        ],
      }),
    );
    expect(e.message).toBe('The VM is not valid: 3 flags are wrong.');
    expect(e.fields.map((f) => f.path)).toEqual(['--disk os:0.1 (sizeGiB)', '--disk os:1 (name)', '--size']);
    expect(e.problem.errors).toHaveLength(3);
  });
});
