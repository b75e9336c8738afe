import { describe, expect, it } from 'vitest';

import { isTidemarkError } from '../../../shared/errors';
import { putVmBodySchema } from '../../../shared/fabric/vmRequest';
import { checkVmSpec, diskSizeBytes, diskSizeProblem } from '../../../shared/fabric/vmSpec';
import { validate } from '../../../shared/http/body';

const good = {
  region: 'eastus',
  vnet: 'demo-vnet',
  subnet: 'web',
  size: 'Standard_B1s',
  disks: [
    { name: 'os', sizeGiB: 0.25 },
    { name: 'data', sizeGiB: 0.0625 },
  ],
};

function fieldErrors(body: unknown): { path: string; message: string }[] {
  try {
    validate(putVmBodySchema, body, 'request body');
  } catch (err) {
    expect(isTidemarkError(err, 'InvalidRequest')).toBe(true);
    return (err as { details: { errors: { path: string; message: string }[] } }).details.errors;
  }
  throw new Error('expected the body to be refused');
}

describe('disk sizes', () => {
  it('turns GiB into whole sectors', () => {
    expect(diskSizeBytes('os', 1)).toBe(2 ** 30);
    expect(diskSizeBytes('os', 0.0625)).toBe(64 * 2 ** 20);
    expect(diskSizeBytes('os', 2 ** -21)).toBe(512);
    expect(diskSizeBytes('os', 8192)).toBe(8 * 2 ** 40);
  });

  it.each([0, -1, 0.1, 2 ** -22, 8192.5, 8193, Number.NaN, Number.POSITIVE_INFINITY])(
    'refuses %s GiB',
    (size) => {
      expect(diskSizeProblem(size)).toBeDefined();
    },
  );
});

describe('PUT /api/vms body', () => {
  it('accepts a good body', () => {
    expect(
      validate(putVmBodySchema, { ...good, availabilitySet: 'demo-avset', powerState: 'Stopped' }),
    ).toMatchObject(good);
  });

  it('lists every bad field at once', () => {
    const errors = fieldErrors({
      region: 'eastus',
      vnet: 'v',
      subnet: 'web-',
      size: 'Standard_B1s',
      disks: [
        { name: 'os', sizeGiB: 0.1 },
        { name: 'OS', sizeGiB: 1 },
      ],
      powerState: 'Off',
      colour: 'blue',
    });
    const paths = errors.map((e) => e.path);
    expect(paths).toEqual(
      expect.arrayContaining(['vnet', 'subnet', 'disks[0].sizeGiB', 'powerState', '(body)']),
    );
    expect(errors.find((e) => e.path === 'vnet')?.message).toMatch(/Rule: 2–64 characters/);
    expect(errors.find((e) => e.path === 'disks[0].sizeGiB')?.message).toMatch(/512-byte sectors/);
  });

  it('reports duplicate disk names once the disks themselves are fine', () => {
    const errors = fieldErrors({ ...good, disks: [good.disks[0], { name: 'OS', sizeGiB: 1 }] });
    expect(errors).toEqual([{ path: 'disks[1].name', message: 'a second disk called OS' }]);
  });

  it('requires the fields and at least one disk', () => {
    const errors = fieldErrors({ disks: [] });
    expect(errors.map((e) => e.path)).toEqual(
      expect.arrayContaining(['region', 'vnet', 'subnet', 'size', 'disks']),
    );
  });
});

describe('checkVmSpec', () => {
  const input = { ...good, resourceGroup: 'rg', name: 'web1' };

  it('gives the disks in bytes', () => {
    expect(checkVmSpec(input).disks).toEqual([
      { name: 'os', sizeBytes: 256 * 2 ** 20 },
      { name: 'data', sizeBytes: 64 * 2 ** 20 },
    ]);
  });

  it.each([
    [{ name: '_web' }, /VM name "_web" is not valid/],
    [{ resourceGroup: 'rg.' }, /Resource group name "rg." is not valid/],
    [{ size: 'large' }, /VM size "large" is not valid/],
    [{ disks: [] }, /1 to 65 disks/],
    [{ privateIp: '10.0.0.300' }, /not an IPv4 address/],
    [
      {
        disks: [
          { name: 'os', sizeGiB: 1 },
          { name: 'Os', sizeGiB: 1 },
        ],
      },
      /Two disks are called "Os"/,
    ],
  ])('refuses %j', (patch, message) => {
    expect(() => checkVmSpec({ ...input, ...patch })).toThrow(message);
  });
});
