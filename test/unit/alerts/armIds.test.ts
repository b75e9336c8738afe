import { describe, expect, it } from 'vitest';

import { parseArmId } from '../../../shared/alerts/armIds';
import { distinctRegions, regionKey } from '../../../shared/alerts/regionNames';

const SUB = '/subscriptions/11111111-2222-3333-4444-555555555555';

describe('parseArmId', () => {
  it('reads a VM id in any case, keeping the names as written', () => {
    expect(
      parseArmId(`${SUB}/resourceGroups/Shop-RG/providers/Microsoft.Compute/virtualMachines/Web1`),
    ).toEqual({
      kind: 'vm',
      subscription: '11111111-2222-3333-4444-555555555555',
      resourceGroup: 'Shop-RG',
      name: 'Web1',
    });
    expect(
      parseArmId(`${SUB}/resourcegroups/shop-rg/providers/microsoft.compute/virtualmachines/web1/`),
    ).toMatchObject({ kind: 'vm', resourceGroup: 'shop-rg', name: 'web1' });
    expect(
      parseArmId(`  ${SUB}/RESOURCEGROUPS/x/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/y  `),
    ).toMatchObject({
      kind: 'vm',
      resourceGroup: 'x',
      name: 'y',
    });
  });

  it('reads resource groups and subscriptions', () => {
    expect(parseArmId(`${SUB}/resourceGroups/shop-rg`)).toMatchObject({
      kind: 'resourceGroup',
      resourceGroup: 'shop-rg',
    });
    expect(parseArmId(SUB)).toMatchObject({ kind: 'subscription' });
  });

  it('tells other resources apart, with their type', () => {
    expect(
      parseArmId(`${SUB}/resourceGroups/shop-rg/providers/Microsoft.Compute/disks/web1-os`),
    ).toMatchObject({
      kind: 'other',
      resourceGroup: 'shop-rg',
      type: 'Microsoft.Compute/disks',
    });
    expect(
      parseArmId(
        `${SUB}/resourceGroups/shop-rg/providers/Microsoft.Compute/virtualMachines/web1/extensions/agent`,
      ),
    ).toMatchObject({ kind: 'other', type: 'Microsoft.Compute/virtualMachines' });
    expect(
      parseArmId(`${SUB}/resourcegroups/mon/providers/microsoft.operationalinsights/workspaces/logs`),
    ).toMatchObject({ kind: 'other', type: 'microsoft.operationalinsights/workspaces' });
    expect(parseArmId(`${SUB}/providers/Microsoft.AlertsManagement/alerts/abc`)).toMatchObject({
      kind: 'other',
    });
  });

  it('refuses what is not an ARM id', () => {
    for (const text of [
      'web1',
      '',
      '/',
      'subscriptions/x',
      '/tenants/x',
      `${SUB}//resourceGroups/x`,
      '/subscriptions',
    ]) {
      expect(parseArmId(text), text).toBeUndefined();
    }
  });
});

describe('region names', () => {
  it('compares display and programmatic names by one key', () => {
    expect(regionKey('East US')).toBe('eastus');
    expect(regionKey('eastus')).toBe('eastus');
    expect(regionKey('East US 2')).toBe('eastus2');
    expect(regionKey('West Central US')).toBe('westcentralus');
    expect(regionKey('UK South')).toBe('uksouth');
    expect(regionKey(' Southeast Asia ')).toBe('southeastasia');
  });

  it('keeps distinct real regions, dropping Global', () => {
    expect(distinctRegions(['East US', 'eastus', 'Global', 'West US', ''])).toEqual([
      { name: 'East US', key: 'eastus' },
      { name: 'West US', key: 'westus' },
    ]);
  });
});
