/** Human output of the CLI: dates, durations, tables, key: value blocks, and each resource's view. */
import { beforeAll, describe, expect, it } from 'vitest';

import type { VmDetail, VmSummary } from '../../../shared/fabric/vmViews';
import type { Job } from '../../../shared/jobs/types';
import {
  formatBytes,
  formatDuration,
  formatTime,
  formatTimeAgo,
  jobDetail,
  jobListTable,
  keyValues,
  protectionDetail,
  recoveryPointTable,
  replicationListTable,
  stepTable,
  table,
  vmDetail,
  vmListTable,
} from '../../../cli/format';

beforeAll(() => {
  // Dates print in local time; pin it.
  process.env.TZ = 'UTC';
});

const summary = (over: Partial<VmSummary> = {}): VmSummary => ({
  resourceGroup: 'shop-rg',
  name: 'web1',
  region: 'eastus',
  size: 'Standard_B1s',
  powerState: 'Running',
  disks: 2,
  nbd: { host: '127.0.0.1', port: 36809, exports: ['os', 'data'], uris: {} },
  protection: null,
  ...over,
});

describe('dates and sizes', () => {
  it('prints local dates readably and durations compactly', () => {
    expect(formatTime('2026-11-26T06:30:01.250Z')).toBe('2026-11-26 06:30:01');
    expect(formatTime(Date.UTC(2026, 0, 2, 3, 4, 5))).toBe('2026-01-02 03:04:05');
    expect(formatTime(null)).toBe('-');
    expect(formatTime('not a date')).toBe('-');
    expect(formatDuration(400)).toBe('0.4s');
    expect(formatDuration(12_300)).toBe('12s');
    expect(formatDuration(185_000)).toBe('3m 05s');
    expect(formatDuration(3_720_000)).toBe('1h 02m');
    expect(formatDuration(2 * 86_400_000 + 3 * 3_600_000)).toBe('2d 03h');
    expect(formatDuration(undefined)).toBe('-');
    expect(formatTimeAgo('2026-11-26T06:30:00Z', Date.parse('2026-11-26T06:33:05Z'))).toBe(
      '2026-11-26 06:30:00 (3m 05s ago)',
    );
    expect(formatBytes(256 * 1024 ** 2)).toBe('256 MiB');
    expect(formatBytes(1.5 * 1024 ** 3)).toBe('1.5 GiB');
    expect(formatBytes(512)).toBe('512 B');
  });
});

describe('table and keyValues', () => {
  it('aligns columns two spaces apart under upper-case headers, without trailing spaces', () => {
    expect(
      table(
        ['Name', 'State', 'Note'],
        [
          ['a', 'Succeeded', ''],
          ['longer', 'Failed', 'x'],
        ],
      ),
    ).toBe(['NAME    STATE      NOTE', 'a       Succeeded', 'longer  Failed     x'].join('\n'));
  });

  it('aligns values and continues multi-line values under the first line', () => {
    expect(
      keyValues([
        ['VM', 'shop-rg/web1'],
        ['Disks', 'os\ndata'],
      ]),
    ).toBe(['VM:     shop-rg/web1', 'Disks:  os', '        data'].join('\n'));
  });
});

describe('VMs', () => {
  it('lists VMs with their protection and NBD endpoint', () => {
    const text = vmListTable([
      summary(),
      summary({
        name: 'db1',
        nbd: null,
        powerState: 'Stopped',
        protection: { state: 'Protected', health: 'Healthy', rpoSeconds: 42 },
      }),
    ]);
    const [head, web1, db1] = text.split('\n');
    expect(head).toMatch(
      /^RESOURCE GROUP\s+NAME\s+REGION\s+SIZE\s+POWER\s+DISKS\s+REPLICATION\s+HEALTH\s+RPO\s+NBD$/,
    );
    expect(web1).toMatch(
      /^shop-rg\s+web1\s+eastus\s+Standard_B1s\s+Running\s+2\s+Not protected\s+-\s+-\s+127\.0\.0\.1:36809$/,
    );
    expect(db1).toMatch(/^shop-rg\s+db1\s+.*Stopped\s+2\s+Protected\s+Healthy\s+42s\s+-$/);
    // Columns line up.
    expect(web1!.indexOf('web1')).toBe(head!.indexOf('NAME'));
    expect(vmListTable([])).toMatch(/^No VMs/);
  });

  it('shows one VM as key: value, with fields it does not know yet', () => {
    const vm = {
      resourceGroup: 'shop-rg',
      name: 'web1',
      region: 'eastus',
      size: 'Standard_B1s',
      powerState: 'Running',
      availabilitySet: null,
      tags: {},
      nics: [
        {
          name: 'web1-nic',
          resourceGroup: 'shop-rg',
          privateIp: '10.0.0.4',
          vnet: 'shop-vnet',
          subnet: 'front',
          addressPrefix: '10.0.0.0/24',
        },
      ],
      disks: [
        {
          name: 'os',
          lun: 0,
          sizeBytes: 268435456,
          sizeGiB: 0.25,
          blob: { region: 'eastus', container: 'disks', name: 'x' },
        },
      ],
      nbd: {
        host: '127.0.0.1',
        port: 1234,
        exports: ['os'],
        uris: { os: 'nbd://127.0.0.1:1234/os' },
      },
      protectedItem: null,
      somethingNew: { a: 1 },
    } as unknown as VmDetail;
    const text = vmDetail(vm, Date.now());
    expect(text).toContain('VM:                shop-rg/web1');
    expect(text).toMatch(/NICs:\s+web1-nic {2}10\.0\.0\.4 {2}shop-vnet\/front \(10\.0\.0\.0\/24\)/);
    expect(text).toMatch(/Disks:\s+os {2}lun 0 {2}256 MiB/);
    expect(text).toMatch(/NBD:\s+nbd:\/\/127\.0\.0\.1:1234\/os/);
    expect(text).toMatch(/Replication:\s+Not protected/);
    expect(text).toMatch(/Something new:\s+\{"a":1\}/);
  });
});

describe('replication', () => {
  it('shows a protected item with health reasons, policy, target and failover', () => {
    const now = Date.parse('2026-11-26T06:40:00Z');
    const text = protectionDetail(
      'shop-rg/web1',
      {
        state: 'FailedOver',
        health: 'Warning',
        healthReasons: ['RPO is 16 minutes'],
        rpoSeconds: 960,
        generation: 2,
        watermark: 41,
        watermarkTime: '2026-11-26T06:24:00.000Z',
        lastAppliedAt: '2026-11-26T06:39:00.000Z',
        lastRecoveryPointAt: null,
        lastAppConsistentSequence: null,
        resyncReason: null,
        policy: { retentionHours: 12, appConsistentFrequencyMinutes: 60 },
        stats: { deltasApplied: 10, bytesApplied: 4 * 1024 * 1024 },
        disks: [{ lun: 0, name: 'os', sizeBytes: 8 * 1024 * 1024 }],
        direction: 'forward',
        target: {
          region: 'westus',
          resourceGroup: 'shop-rg-asr',
          vnet: { resourceGroup: 'shop-rg-asr', name: 'v-asr' },
        },
        failover: {
          recoveryPointId: 'rp-2-40',
          time: '2026-11-26T06:20:00.000Z',
          choice: 'latestProcessed',
          targetVm: { region: 'westus', resourceGroup: 'shop-rg-asr', name: 'web1' },
          at: '2026-11-26T06:30:00.000Z',
          note: null,
        },
      },
      now,
    );
    expect(text).toMatch(/^VM:\s+shop-rg\/web1$/m);
    expect(text).toMatch(/^State:\s+FailedOver$/m);
    expect(text).toMatch(/^Health:\s+Warning \(RPO is 16 minutes\)$/m);
    expect(text).toMatch(/^RPO:\s+16m 00s$/m);
    expect(text).toMatch(/^Target:\s+region westus, resource group shop-rg-asr, VNet shop-rg-asr\/v-asr$/m);
    expect(text).toMatch(
      /^Failover:\s+VM shop-rg-asr\/web1 \(westus\) from rp-2-40 \(2026-11-26 06:20:00\), asked latestProcessed/m,
    );
    expect(text).toMatch(/^Policy:\s+retention 12 h, app-consistent every 60 min$/m);
    expect(text).toMatch(/^Last applied:\s+2026-11-26 06:39:00 \(1m 00s ago\)$/m);
    expect(text).toMatch(/^Replication:\s+10 deltas, 4 MiB applied$/m);
  });

  it('lists only protected VMs', () => {
    const text = replicationListTable([
      summary(),
      summary({
        name: 'db1',
        protection: { state: 'InitialReplication', health: 'Healthy', rpoSeconds: null },
      }),
    ]);
    expect(text.split('\n')).toHaveLength(2);
    expect(text).toMatch(/db1\s+eastus\s+InitialReplication\s+Healthy\s+-/);
    expect(replicationListTable([summary()])).toMatch(/^No protected VMs/);
  });

  it('lists recovery points with readable times', () => {
    const text = recoveryPointTable([
      {
        id: 'rp-1-42',
        time: '2026-11-26T06:30:00.000Z',
        cutAt: '2026-11-26T06:30:02.000Z',
        type: 'CrashConsistent',
        sequence: 42,
        generation: 1,
      },
    ]);
    expect(text.split('\n')[1]).toMatch(
      /^rp-1-42\s+CrashConsistent\s+2026-11-26 06:30:00\s+2026-11-26 06:30:02\s+1\s+42$/,
    );
    expect(recoveryPointTable([])).toBe('No recovery points yet.');
  });
});

describe('jobs', () => {
  const job: Job = {
    id: 'enable-shop-rg-web1',
    kind: 'EnableReplication',
    vm: { resourceGroup: 'shop-rg', name: 'web1' },
    state: 'Failed',
    steps: [
      {
        name: 'Prerequisites check',
        state: 'Succeeded',
        startedAt: '2026-11-26T06:30:00.000Z',
        endedAt: '2026-11-26T06:30:00.400Z',
      },
      {
        name: 'Initial replication',
        state: 'Failed',
        startedAt: '2026-11-26T06:30:01.000Z',
        endedAt: '2026-11-26T06:30:13.000Z',
        progress: 40,
        error: 'The source disk os is gone.',
      },
      { name: 'Start continuous replication', state: 'NotStarted' },
    ],
    error: 'Initial replication failed: The source disk os is gone.',
    result: null,
    startedAt: '2026-11-26T06:30:00.000Z',
    endedAt: '2026-11-26T06:30:13.000Z',
  };

  it('lists jobs', () => {
    const text = jobListTable([job, { ...job, id: 'b', state: 'InProgress', endedAt: null }]);
    expect(text.split('\n')[1]).toMatch(
      /^enable-shop-rg-web1\s+EnableReplication\s+shop-rg\/web1\s+Failed\s+2026-11-26 06:30:00\s+13s$/,
    );
    expect(text.split('\n')[2]).toMatch(/InProgress\s+2026-11-26 06:30:00\s+running$/);
  });

  it('shows the step table with times, durations and errors', () => {
    const lines = stepTable(job.steps).split('\n');
    expect(lines[0]).toMatch(/^STEP\s+STATE\s+STARTED\s+ENDED\s+DURATION$/);
    expect(lines[1]).toMatch(/^Prerequisites check\s+Succeeded\s+06:30:00\s+06:30:00\s+0\.4s$/);
    expect(lines[2]).toMatch(
      /^Initial replication\s+Failed\s+06:30:01\s+06:30:13\s+12s\s+The source disk os is gone\.$/,
    );
    expect(lines[3]).toMatch(/^Start continuous replication\s+NotStarted\s+-\s+-\s+-$/);
  });

  it('shows one job as key: value then its steps', () => {
    const text = jobDetail({
      ...job,
      state: 'Succeeded',
      error: null,
      result: { targetResourceGroup: 'shop-rg-asr', generation: 1 },
    });
    expect(text).toMatch(/^Job:\s+enable-shop-rg-web1$/m);
    expect(text).toMatch(/^Duration:\s+13s$/m);
    expect(text).toMatch(/^Result:\s+targetResourceGroup: shop-rg-asr\n\s+generation: 1$/m);
    expect(text).toMatch(/\n\nSTEP\s+STATE/);
  });
});
