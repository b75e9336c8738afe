/**
 * What the ARM disk tests share: recognisable disk bytes, comparing megabytes without a deep
 * compare (slow in expect), and a running VM on one managed OS disk in the fake Resource Manager
 * (whose disk Azure would refuse to export directly).
 */
import { expect } from 'vitest';

import type { FakeArm } from './fakeArm';

/** `bytes` of a pattern that differs per seed and per 512-byte sector. */
export function diskPattern(bytes: number, seed: number): Buffer {
  const data = Buffer.alloc(bytes);
  for (let i = 0; i < data.length; i += 512) data.writeUInt32BE((seed * 7919 + i) >>> 0, i);
  return data;
}

export function expectSameBytes(actual: Buffer, expected: Buffer): void {
  expect(actual.length).toBe(expected.length);
  expect(actual.equals(expected), 'the bytes differ').toBe(true);
}

export function managedDiskId(fake: FakeArm, resourceGroup: string, name: string): string {
  return `/subscriptions/${fake.subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Compute/disks/${name}`;
}

/** A running VM `name` in `resourceGroup` of `region` on one Linux OS disk `{name}-os` holding `data`; its id. */
export async function seedRunningVm(
  fake: FakeArm,
  region: string,
  resourceGroup: string,
  name: string,
  data: Buffer,
): Promise<string> {
  await fake.seedDisk(region, resourceGroup, `${name}-os`, data, { osType: 'Linux' });
  const disk = managedDiskId(fake, resourceGroup, `${name}-os`);
  const vm = `/subscriptions/${fake.subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Compute/virtualMachines/${name}`;
  fake.seed(vm, {
    location: region,
    properties: {
      hardwareProfile: { vmSize: 'Standard_B2s' },
      storageProfile: {
        osDisk: { name: `${name}-os`, osType: 'Linux', createOption: 'Attach', managedDisk: { id: disk } },
        dataDisks: [],
      },
      networkProfile: { networkInterfaces: [] },
    },
  });
  fake.power.set(vm.toLowerCase(), 'running');
  return disk;
}
