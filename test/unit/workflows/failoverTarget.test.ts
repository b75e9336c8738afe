import { describe, expect, it } from 'vitest';

import { isTidemarkError } from '../../../shared/errors';
import type { VirtualMachine, VirtualNetwork } from '../../../shared/fabric/types';
import {
  addressWarning,
  checkTargetVmFree,
  chooseTargetSubnet,
  FAILOVER_TAG,
  failoverTargetVm,
  ownsTargetVm,
} from '../../../shared/workflows/failoverTarget';

const ITEM = { resourceGroup: 'shop-rg', vm: 'web1', target: { resourceGroup: 'shop-rg-asr' } };

function vm(partial: Partial<VirtualMachine> = {}): VirtualMachine {
  return {
    resourceGroup: 'shop-rg-asr',
    name: 'web1',
    region: 'westus',
    size: 'Standard_B1s',
    powerState: 'Running',
    nics: ['web1-nic'],
    disks: [],
    ...partial,
  };
}

function vnet(subnets: string[]): VirtualNetwork {
  return {
    resourceGroup: 'shop-rg-asr',
    name: 'shop-vnet-asr',
    region: 'westus',
    addressSpace: ['10.0.0.0/16'],
    subnets: subnets.map((name, i) => ({ name, addressPrefix: `10.0.${i}.0/24` })),
  };
}

describe('failoverTargetVm', () => {
  it('is {target rg}/{vm} in the target region', () => {
    expect(failoverTargetVm(ITEM, 'westus')).toEqual({
      region: 'westus',
      resourceGroup: 'shop-rg-asr',
      name: 'web1',
    });
  });

  it('is the original VM for a failback', () => {
    const failbackTo = { region: 'eastus', resourceGroup: 'shop-rg', name: 'web1' };
    expect(failoverTargetVm({ ...ITEM, failbackTo }, 'eastus')).toEqual(failbackTo);
  });
});

describe('ownsTargetVm / checkTargetVmFree', () => {
  it('knows a VM by the failover record, the failback target or its tag (any case)', () => {
    const record = {
      jobId: 'failover-x',
      choice: 'latest',
      pointId: 'rp-1-1',
      pointTime: 0,
      vm: { region: 'westus', resourceGroup: 'SHOP-RG-ASR', name: 'Web1' },
      at: 0,
    };
    expect(ownsTargetVm({ ...ITEM, failover: record }, vm())).toBe(true);
    expect(
      ownsTargetVm(
        { ...ITEM, failbackTo: { region: 'westus', resourceGroup: 'shop-rg-asr', name: 'web1' } },
        vm(),
      ),
    ).toBe(true);
    expect(ownsTargetVm(ITEM, vm({ tags: { [FAILOVER_TAG]: 'Shop-RG/WEB1' } }))).toBe(true);
    expect(ownsTargetVm(ITEM, vm({ tags: { [FAILOVER_TAG]: 'shop-rg/web2' } }))).toBe(false);
    expect(ownsTargetVm(ITEM, vm())).toBe(false);
  });

  it('refuses a VM this item did not make, naming it and what to do', () => {
    expect(() => checkTargetVmFree(ITEM, undefined)).not.toThrow();
    let caught: unknown;
    try {
      checkTargetVmFree(ITEM, vm());
    } catch (err) {
      caught = err;
    }
    expect(isTidemarkError(caught, 'Conflict')).toBe(true);
    expect((caught as Error).message).toMatch(
      /VM shop-rg-asr\/web1 already exists in westus and was not made by a failover of shop-rg\/web1/,
    );
    expect((caught as { hint: string }).hint).toMatch(/Delete or rename/);
  });
});

describe('chooseTargetSubnet', () => {
  it('takes the subnet named like the source VM’s, in any case', () => {
    expect(chooseTargetSubnet(vnet(['front', 'back']), 'BACK')).toEqual({ subnet: 'back' });
  });

  it('falls back to the first subnet with a warning', () => {
    const choice = chooseTargetSubnet(vnet(['front', 'back']), 'db');
    expect(choice.subnet).toBe('front');
    expect(choice.warning).toMatch(/has no subnet db.*joined subnet front/);
  });

  it('refuses a VNet without subnets', () => {
    expect(() => chooseTargetSubnet(vnet([]), 'db')).toThrow(/has no subnet/);
  });
});

describe('addressWarning', () => {
  it('is silent when the source address was kept, and names both otherwise', () => {
    expect(addressWarning('10.0.0.4', '10.0.0.4', 'default')).toBeUndefined();
    expect(addressWarning('10.0.0.4', '10.0.0.5', 'default')).toMatch(/10\.0\.0\.4.*got 10\.0\.0\.5/);
  });
});
