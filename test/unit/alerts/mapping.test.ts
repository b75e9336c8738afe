import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { type CandidateItem, mapAlert, whyNotFailover } from '../../../shared/alerts/mapping';
import { type CommonAlert, parseCommonAlert } from '../../../shared/alerts/schema';
import type { Direction } from '../../../shared/direction';
import type { ProtectedItem, ProtectedItemState } from '../../../shared/protectedItems';

const SUB = '/subscriptions/11111111-2222-3333-4444-555555555555';

const fixture = (name: string): CommonAlert =>
  parseCommonAlert(JSON.parse(fs.readFileSync(path.join(__dirname, '../../fixtures/alerts', name), 'utf8')));

function candidate(
  resourceGroup: string,
  vm: string,
  state: ProtectedItemState = 'Protected',
  region = 'eastus',
  direction: Direction = 'forward',
): CandidateItem {
  const item: ProtectedItem = {
    resourceGroup,
    vm,
    state,
    generation: 1,
    disks: [],
    applyEnabled: true,
    watermark: 5,
    sourceVm: {
      region,
      size: 'Standard_B1s',
      vnet: { resourceGroup, name: 'vnet' },
      subnet: 'default',
      privateIp: '10.0.0.4',
    },
  };
  return { item, direction };
}

const ITEMS: CandidateItem[] = [
  candidate('shop-rg', 'web1'),
  candidate('shop-rg', 'db1', 'ResyncRequired'),
  candidate('Shop-RG', 'cache1', 'InitialReplication'),
  candidate('shop-rg', 'old1', 'FailedOver'),
  candidate('hr-rg', 'app1', 'Protected', 'westus'),
  candidate('shop-rg-asr', 'web9', 'Protected', 'westus', 'reverse'),
];

const names = (list: CandidateItem[]): string[] => list.map((c) => `${c.item.resourceGroup}/${c.item.vm}`);

function alertWith(targets: string[], extra: Partial<CommonAlert> = {}): CommonAlert {
  return {
    ...fixture('metric-vm-fired.json'),
    alertTargetIDs: targets,
    configurationItems: [],
    ...extra,
  };
}

describe('mapAlert', () => {
  it('maps a VM id (lower-cased by Azure) to that protected item', () => {
    const m = mapAlert(fixture('metric-vm-fired.json'), ITEMS);
    expect(names(m.eligible)).toEqual(['shop-rg/web1']);
    // configurationItems ["web1"] is a bare name: neither used nor reported.
    expect(m.skipped).toEqual([]);
  });

  it('maps a resource group to every item in it, skipping those a failover does not start from', () => {
    const m = mapAlert(fixture('log-v2-resource-group.json'), ITEMS);
    expect(names(m.eligible)).toEqual(['shop-rg/web1', 'shop-rg/db1']);
    expect(m.skipped).toEqual([
      {
        vm: { resourceGroup: 'Shop-RG', name: 'cache1' },
        reason: expect.stringMatching(
          /InitialReplication.*Protected or ResyncRequired.*Wait for the initial/,
        ) as string,
      },
      {
        vm: { resourceGroup: 'shop-rg', name: 'old1' },
        reason: expect.stringMatching(
          /already failed over; an alert never changes the recovery point/,
        ) as string,
      },
    ]);
  });

  it('maps a Service Health region ("East US") to the items whose source VM runs there', () => {
    const m = mapAlert(fixture('service-health-incident.json'), ITEMS);
    expect(names(m.eligible)).toEqual(['shop-rg/web1', 'shop-rg/db1']);
    // The subscription is the alert's scope, not an unmatched target; Global is no region.
    expect(m.skipped.map((s) => s.target)).toEqual([undefined, undefined]);
    expect(m.skipped.map((s) => s.vm?.name)).toEqual(['cache1', 'old1']);
  });

  it('maps a programmatic region name and reverse items alike', () => {
    const m = mapAlert({ ...fixture('service-health-incident.json'), regionNames: ['westus'] }, ITEMS);
    expect(m.eligible.map((c) => [c.item.vm, c.direction])).toEqual([
      ['app1', 'forward'],
      ['web9', 'reverse'],
    ]);
  });

  it('reports a region no protected VM runs in', () => {
    const m = mapAlert({ ...fixture('service-health-incident.json'), regionNames: ['North Europe'] }, ITEMS);
    expect(m.eligible).toEqual([]);
    expect(m.skipped).toEqual([
      { target: 'North Europe', reason: 'No protected VM runs in region North Europe.' },
    ]);
  });

  it('uses regions only from Service Health alerts', () => {
    const m = mapAlert(alertWith([], { regionNames: ['East US'] }), ITEMS);
    expect(m.eligible).toEqual([]);
    expect(m.skipped).toEqual([{ reason: expect.stringMatching(/names no resource/) as string }]);
  });

  it('reports unmatched and unusable targets with the reason', () => {
    const m = mapAlert(
      alertWith([
        `${SUB}/resourceGroups/shop-rg/providers/Microsoft.Compute/virtualMachines/nosuch`,
        `${SUB}/resourceGroups/empty-rg`,
        `${SUB}/resourceGroups/shop-rg/providers/Microsoft.Compute/disks/web1-os`,
        SUB,
        'web1',
      ]),
      ITEMS,
    );
    expect(m.eligible).toEqual([]);
    expect(m.skipped.map((s) => s.reason)).toEqual([
      'VM shop-rg/nosuch is not protected.',
      'Resource group empty-rg has no protected VM.',
      'Not a VM or resource group (Microsoft.Compute/disks): tidemark fails over VMs.',
      expect.stringMatching(/^A subscription/),
      'Not an Azure resource id.',
    ]);
    expect(m.skipped[0]?.target).toMatch(/nosuch$/);
  });

  it('names each item once, however many targets name it', () => {
    const m = mapAlert(
      alertWith([
        `${SUB}/resourceGroups/SHOP-RG/providers/Microsoft.Compute/virtualMachines/WEB1`,
        `${SUB}/resourceGroups/shop-rg`,
        `${SUB}/resourcegroups/shop-rg/providers/microsoft.compute/virtualmachines/web1/`,
      ]),
      ITEMS,
    );
    expect(names(m.eligible)).toEqual(['shop-rg/web1', 'shop-rg/db1']);
  });

  it('uses configurationItems that are ARM ids', () => {
    const m = mapAlert(
      alertWith([], {
        configurationItems: [
          'db1',
          `${SUB}/resourceGroups/shop-rg/providers/Microsoft.Compute/virtualMachines/db1`,
        ],
      }),
      ITEMS,
    );
    expect(names(m.eligible)).toEqual(['shop-rg/db1']);
  });
});

describe('whyNotFailover', () => {
  it('allows Protected and ResyncRequired only', () => {
    expect(whyNotFailover(candidate('a', 'b', 'Protected').item)).toBeUndefined();
    expect(whyNotFailover(candidate('a', 'b', 'ResyncRequired').item)).toBeUndefined();
    for (const state of [
      'FailedOver',
      'FailoverInProgress',
      'Enabling',
      'TestFailedOver',
      'Disabling',
    ] as const) {
      expect(whyNotFailover(candidate('a', 'b', state).item), state).toMatch(/a\/b/);
    }
  });

  it('names the failed-over VM', () => {
    const item = candidate('a', 'b', 'FailedOver').item;
    item.failover = {
      jobId: 'failover-a-b-1',
      choice: 'latest',
      pointId: 'rp-1-2',
      pointTime: 0,
      vm: { region: 'westus', resourceGroup: 'a-asr', name: 'b' },
      at: 0,
    };
    expect(whyNotFailover(item)).toMatch(/already failed over \(to a-asr\/b\)/);
  });
});
