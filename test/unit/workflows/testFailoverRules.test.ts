import { describe, expect, it } from 'vitest';

import { isTidemarkError } from '../../../shared/errors';
import type { VirtualNetwork } from '../../../shared/fabric/types';
import type { ProtectedItem } from '../../../shared/protectedItems';
import type { RecoveryPoint } from '../../../shared/recoveryPoints/types';
import { pickRecoveryPoint } from '../../../shared/workflows/pickRecoveryPoint';
import {
  testNicName,
  testVmName,
  testVmTagValue,
  testVnetName,
} from '../../../shared/workflows/testFailoverNames';
import { stateAfterCleanup, stateBeforeTestFailover } from '../../../shared/workflows/testFailoverState';
import { checkTestNetwork, otherNicsIn } from '../../../shared/workflows/testNetwork';

function point(
  sequence: number,
  time: number,
  type: RecoveryPoint['type'] = 'CrashConsistent',
): RecoveryPoint {
  return {
    resourceGroup: 'rg',
    vm: 'web1',
    id: `rp-1-${sequence}`,
    type,
    generation: 1,
    sequence,
    time,
    cutAt: time + 10,
    disks: [],
  };
}

// Newest first, as the catalog lists them.
const POINTS = [point(30, 3000), point(20, 2000, 'AppConsistent'), point(10, 1000)];

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('pickRecoveryPoint', () => {
  it('takes the newest point for latest and latestProcessed', () => {
    expect(pickRecoveryPoint('rg/web1', POINTS, 'latest')).toEqual({ pointId: 'rp-1-30' });
    expect(pickRecoveryPoint('rg/web1', POINTS, 'latestProcessed')).toEqual({ pointId: 'rp-1-30' });
  });

  it('takes the newest app-consistent point, a point by id, or a time', () => {
    expect(pickRecoveryPoint('rg/web1', POINTS, 'latestAppConsistent')).toEqual({ pointId: 'rp-1-20' });
    expect(pickRecoveryPoint('rg/web1', POINTS, { id: 'rp-1-10' })).toEqual({ pointId: 'rp-1-10' });
    const time = new Date(2500).toISOString();
    expect(pickRecoveryPoint('rg/web1', POINTS, { time })).toEqual({ time: 2500 });
  });

  it('says what there is when no point answers the choice', () => {
    const none = thrown(() => pickRecoveryPoint('rg/web1', [], 'latestProcessed'));
    expect(isTidemarkError(none, 'NotFound')).toBe(true);
    expect((none as Error).message).toBe('rg/web1 has no recovery point yet.');
    const app = thrown(() => pickRecoveryPoint('rg/web1', [point(1, 5)], 'latestAppConsistent'));
    expect((app as { hint: string }).hint).toMatch(/app-consistent.*latestProcessed/);
    const id = thrown(() => pickRecoveryPoint('rg/web1', POINTS, { id: 'rp-1-11' }));
    expect((id as Error).message).toMatch(/no recovery point rp-1-11/);
    const early = thrown(() => pickRecoveryPoint('rg/web1', POINTS, { time: new Date(999).toISOString() }));
    expect((early as { hint: string }).hint).toBe(
      `The oldest it can go back to is ${new Date(1000).toISOString()}.`,
    );
  });
});

describe('test failover names', () => {
  it('follows Site Recovery: <vm>-test, its NIC, <vnet>-test', () => {
    expect(testVmName('web1')).toBe('web1-test');
    expect(testNicName('web1')).toBe('web1-test-nic');
    expect(testVnetName('shop-vnet-asr')).toBe('shop-vnet-asr-test');
    expect(testVmTagValue('Shop-RG', 'Web1')).toBe('shop-rg/web1');
  });

  it('refuses a name Azure would refuse, saying the rule', () => {
    const long = thrown(() => testVmName('v'.repeat(60)));
    expect(isTidemarkError(long, 'InvalidArgument')).toBe(true);
    expect((long as Error).message).toMatch(/VM name .* is not valid: it is 65 characters long/);
  });
});

const TARGET = { resourceGroup: 'shop-rg-asr', name: 'shop-vnet-asr' };

function vnet(
  name: string,
  subnets: VirtualNetwork['subnets'] = [{ name: 'front', addressPrefix: '10.0.0.0/24' }],
) {
  return { resourceGroup: 'shop-rg-asr', name, region: 'westus', addressSpace: ['10.0.0.0/16'], subnets };
}

describe('checkTestNetwork', () => {
  const base = { targetVnet: TARGET, subnet: 'Front', defaultName: 'shop-vnet-asr-test' };

  it('gives the subnet named like the source VM’s in an isolated VNet', () => {
    expect(checkTestNetwork({ ...base, vnet: vnet('lab') })).toEqual({
      name: 'front',
      addressPrefix: '10.0.0.0/24',
    });
  });

  it('refuses the VNet failover uses, any mapped VNet, and one without the subnet', () => {
    const target = thrown(() => checkTestNetwork({ ...base, vnet: vnet('SHOP-vnet-asr') }));
    expect(isTidemarkError(target, 'Conflict')).toBe(true);
    expect((target as Error).message).toMatch(/fails over into; a test VM there would not be isolated/);
    expect((target as { hint: string }).hint).toMatch(/leave network out .* shop-vnet-asr-test/);
    const mapped = thrown(() =>
      checkTestNetwork({
        ...base,
        vnet: vnet('other'),
        mapping: {
          sourceRegion: 'westus',
          sourceVnet: { resourceGroup: 'shop-rg-asr', name: 'other' },
          targetRegion: 'eastus',
          targetVnet: { resourceGroup: 'shop-rg', name: 'shop-vnet' },
        },
      }),
    );
    expect((mapped as Error).message).toMatch(/is mapped to shop-rg\/shop-vnet in eastus/);
    const noSubnet = thrown(() =>
      checkTestNetwork({ ...base, vnet: vnet('lab', [{ name: 'back', addressPrefix: '10.0.1.0/24' }]) }),
    );
    expect((noSubnet as Error).message).toMatch(/has no subnet Front.*it has back/);
  });

  it('lists the NICs still in a VNet apart from the given one', () => {
    const used = vnet('lab', [
      {
        name: 'front',
        addressPrefix: '10.0.0.0/24',
        ipConfigurations: [
          { nic: { resourceGroup: 'shop-rg-asr', name: 'web1-test-nic' }, privateIp: '10.0.0.4' },
          { nic: { resourceGroup: 'shop-rg-asr', name: 'db1-test-nic' }, privateIp: '10.0.0.5' },
        ],
      },
    ]);
    expect(otherNicsIn(used, { resourceGroup: 'SHOP-rg-asr', name: 'web1-test-NIC' })).toEqual([
      'shop-rg-asr/db1-test-nic',
    ]);
    expect(otherNicsIn(used)).toHaveLength(2);
  });
});

function item(state: ProtectedItem['state'], previousState?: ProtectedItem['state']): ProtectedItem {
  return {
    resourceGroup: 'rg',
    vm: 'web1',
    state,
    generation: 1,
    disks: [],
    applyEnabled: true,
    watermark: 5,
    ...(previousState ? { activeJob: { id: 'j', kind: 'TestFailover', claimedAt: 0, previousState } } : {}),
  };
}

describe('item state around a test failover', () => {
  it('comes back to the state from before: Protected, or ResyncRequired when it was', () => {
    expect(stateBeforeTestFailover(item('TestFailoverInProgress', 'Protected'))).toBe('Protected');
    expect(stateBeforeTestFailover(item('TestFailoverInProgress', 'ResyncRequired'))).toBe('ResyncRequired');
    const record = { previousState: 'ResyncRequired' as const };
    expect(stateAfterCleanup(item('TestFailoverInProgress', 'TestFailedOver'), record as never)).toBe(
      'ResyncRequired',
    );
    expect(stateAfterCleanup(item('TestFailoverInProgress', 'TestFailedOver'), undefined)).toBe('Protected');
  });

  it('keeps a resync the applier asked for while the job ran', () => {
    expect(stateBeforeTestFailover(item('ResyncRequired', 'Protected'))).toBe('ResyncRequired');
    expect(
      stateAfterCleanup(item('ResyncRequired', 'TestFailedOver'), { previousState: 'Protected' } as never),
    ).toBe('ResyncRequired');
  });

  it('never returns to a state a test failover cannot start from', () => {
    expect(stateBeforeTestFailover(item('TestFailoverInProgress', 'FailedOver'))).toBe('Protected');
    expect(stateAfterCleanup(item('TestFailoverInProgress'), { previousState: 'Disabling' } as never)).toBe(
      'Protected',
    );
  });
});
