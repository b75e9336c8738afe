/**
 * The whole program with a fake fetch: bad flags are refused before any request, requests are the
 * API's contract (routes, bodies, key), --json prints the API's JSON, --wait follows the job and exits
 * with its outcome, and each kind of failure has its exit code.
 */
import { describe, expect, it } from 'vitest';

import type { FetchLike } from '../../../cli/apiClient';
import { recordingOutput, type RecordingOutput } from '../../../cli/output';
import { run } from '../../../cli/program';
import type { Job } from '../../../shared/jobs/types';

interface Call {
  method: string;
  url: string;
  key: string | undefined;
  body: unknown;
}

type Route = (call: Call) => { status: number; body?: unknown; headers?: Record<string, string> };

function fakeApi(route: Route): { fetch: FetchLike; calls: Call[] } {
  const calls: Call[] = [];
  const fetch: FetchLike = (url, init) => {
    const headers = init.headers as Record<string, string>;
    const call: Call = {
      method: init.method ?? 'GET',
      url,
      key: headers['x-functions-key'],
      body: typeof init.body === 'string' ? (JSON.parse(init.body) as unknown) : undefined,
    };
    calls.push(call);
    const a = route(call);
    return Promise.resolve(
      new Response(a.body === undefined ? null : JSON.stringify(a.body), {
        status: a.status,
        headers: a.headers,
      }),
    );
  };
  return { fetch, calls };
}

async function tidemark(
  args: string[],
  route: Route = () => ({ status: 500 }),
  env: Record<string, string> = { TIDEMARK_KEY: 'key1' },
): Promise<{ code: number; out: RecordingOutput; calls: Call[] }> {
  const out = recordingOutput();
  const { fetch, calls } = fakeApi(route);
  const code = await run(['node', 'tidemark', ...args], {
    output: out,
    env,
    fetch,
    follow: { intervalMs: 0, sleep: () => Promise.resolve() },
  });
  return { code, out, calls };
}

const job = (state: Job['state'], steps: Job['steps'] = []): Job => ({
  id: 'enable-shop-rg-web1',
  kind: 'EnableReplication',
  vm: { resourceGroup: 'shop-rg', name: 'web1' },
  state,
  steps,
  error: state === 'Failed' ? 'Initial replication failed: gone.' : null,
  result: null,
  startedAt: '2026-11-26T06:30:00.000Z',
  endedAt: state === 'InProgress' ? null : '2026-11-26T06:30:30.000Z',
});

describe('bad flags', () => {
  it.each([
    [['vm', 'show', 'web1'], /"web1" is not a VM/],
    [
      ['replication', 'enable', 'shop-rg/web1', '--retention-hours', '-1'],
      /--retention-hours "-1" is not valid/,
    ],
    [['failover', 'start', 'shop-rg/web1', '--recovery-point', 'yesterday'], /is not a recovery point/],
    [
      [
        'vm',
        'create',
        'shop-rg/web1',
        '--region',
        'eastus',
        '--vnet',
        'v1',
        '--subnet',
        's',
        '--size',
        'Standard_B1s',
        '--disk',
        'os',
      ],
      /--disk "os" is not NAME:SIZE_GIB/,
    ],
    [['vm', 'create', 'shop-rg/web1', '--region', 'eastus'], /Required option '--vnet <name>' not specified/],
    [['vm', 'list', '--bogus'], /Unknown option '--bogus'/],
    [['vm', 'list', '--url', 'nope'], /--url "nope" is not a URL/],
  ])('%j is refused before any request, exit 1', async (args, message) => {
    const { code, out, calls } = await tidemark(args);
    expect(code).toBe(1);
    expect(calls).toEqual([]);
    expect(out.stderr[0]).toMatch(/^error: /);
    expect(out.stderr[0]).toMatch(message);
    expect(out.stderr[1]).toMatch(/^ {2}fix: /);
    expect(out.stdout).toEqual([]);
  });

  it('prints a usage error as problem JSON with --json', async () => {
    const { code, out } = await tidemark(['--json', 'vm', 'show', 'web1']);
    expect(code).toBe(1);
    expect(JSON.parse(out.errText())).toMatchObject({
      code: 'InvalidArgument',
      detail: expect.stringMatching(/not a VM/),
    });
  });

  it('--help and --version exit 0; a bare noun shows its help and exits 1', async () => {
    const help = await tidemark(['--help']);
    expect(help.code).toBe(0);
    expect(help.out.text()).toMatch(/Exit codes:\n {2}0 {2}done\n {2}1 {2}user error/);
    expect((await tidemark(['--version'])).code).toBe(0);
    const bare = await tidemark(['vm']);
    expect(bare.code).toBe(1);
    expect(bare.out.errText()).toMatch(/Usage: tidemark vm/);
  });
});

describe('requests', () => {
  it('vm create PUTs the body with the key from TIDEMARK_KEY to TIDEMARK_URL', async () => {
    const { code, calls, out } = await tidemark(
      [
        'vm',
        'create',
        'shop-rg/web1',
        '--region',
        'eastus',
        '--vnet',
        'shop-vnet',
        '--subnet',
        'front',
        '--size',
        'Standard_B1s',
        '--disk',
        'os:0.25',
        '--disk',
        'data:0.125',
        '--availability-set',
        'shop-avset',
        '--stopped',
      ],
      () => ({
        status: 201,
        body: {
          resourceGroup: 'shop-rg',
          name: 'web1',
          region: 'eastus',
          size: 'Standard_B1s',
          powerState: 'Stopped',
          availabilitySet: 'shop-avset',
          tags: {},
          nics: [],
          disks: [],
          nbd: null,
          protectedItem: null,
        },
      }),
      { TIDEMARK_KEY: 'k2', TIDEMARK_URL: 'http://127.0.0.2:1234' },
    );
    expect(code).toBe(0);
    expect(calls).toEqual([
      {
        method: 'PUT',
        url: 'http://127.0.0.2:1234/api/vms/shop-rg/web1',
        key: 'k2',
        body: {
          region: 'eastus',
          vnet: 'shop-vnet',
          subnet: 'front',
          size: 'Standard_B1s',
          availabilitySet: 'shop-avset',
          disks: [
            { name: 'os', sizeGiB: 0.25 },
            { name: 'data', sizeGiB: 0.125 },
          ],
          powerState: 'Stopped',
        },
      },
    ]);
    expect(out.stdout[0]).toBe('Created VM shop-rg/web1.');
  });

  it('--url and --key win over the environment', async () => {
    const { calls } = await tidemark(['--url', 'http://127.0.0.1:9', '--key', 'flag', 'job', 'list'], () => ({
      status: 200,
      body: { jobs: [] },
    }));
    expect(calls[0]).toMatchObject({ url: 'http://127.0.0.1:9/api/jobs', key: 'flag' });
  });

  it('replication enable sends only the overrides given', async () => {
    const { calls, out, code } = await tidemark(
      [
        'replication',
        'enable',
        'shop-rg/web1',
        '--target-resource-group',
        'dr-rg',
        '--retention-hours',
        '12',
        '--app-consistent-minutes',
        '60',
      ],
      () => ({
        status: 202,
        body: { job: job('InProgress') },
        headers: { location: '/api/jobs/enable-shop-rg-web1' },
      }),
    );
    expect(code).toBe(0);
    expect(calls[0]).toMatchObject({
      method: 'POST',
      url: 'http://127.0.0.1:7071/api/vms/shop-rg/web1/enable-replication',
      body: {
        targetResourceGroup: 'dr-rg',
        policy: { retentionHours: 12, appConsistentFrequencyMinutes: 60 },
      },
    });
    expect(out.stdout).toEqual([
      'Job enable-shop-rg-web1: EnableReplication of shop-rg/web1 started.',
      'Follow it with: tidemark job watch enable-shop-rg-web1',
    ]);
  });

  it('failover routes carry the recovery-point choice and flags', async () => {
    const started = (): ReturnType<Route> => ({ status: 202, body: { job: job('InProgress') } });
    const a = await tidemark(
      ['failover', 'start', 'shop-rg/web1', '--recovery-point', 'rp-1-42', '--no-shutdown-source'],
      started,
    );
    expect(a.calls[0]).toMatchObject({
      url: expect.stringMatching(/\/failover$/),
      body: { recoveryPoint: { id: 'rp-1-42' }, shutdownSource: false },
    });
    const b = await tidemark(
      [
        'failover',
        'test',
        'shop-rg/web1',
        '--recovery-point',
        '2026-11-26T06:30:00Z',
        '--network',
        'test-vnet',
      ],
      started,
    );
    expect(b.calls[0]).toMatchObject({
      url: expect.stringMatching(/\/test-failover$/),
      body: { recoveryPoint: { time: '2026-11-26T06:30:00Z' }, network: 'test-vnet' },
    });
    const c = await tidemark(['failover', 'start', 'shop-rg/web1'], started);
    expect(c.calls[0]!.body).toEqual({});
    for (const [args, route] of [
      [['failover', 'cleanup', 'shop-rg/web1'], 'test-failover-cleanup'],
      [['failover', 'commit', 'shop-rg/web1'], 'commit-failover'],
      [['reprotect', 'shop-rg/web1'], 'reprotect'],
      [['replication', 'disable', 'shop-rg/web1'], 'disable-replication'],
    ] as const) {
      const r = await tidemark([...args], started);
      expect(r.code).toBe(0);
      expect(r.calls[0]).toMatchObject({
        method: 'POST',
        url: `http://127.0.0.1:7071/api/vms/shop-rg/web1/${route}`,
        body: {},
      });
    }
  });

  it('recovery-point list follows nextLink and --json prints every point', async () => {
    const point = (n: number): object => ({
      id: `rp-1-${n}`,
      time: '2026-11-26T06:30:00.000Z',
      cutAt: '2026-11-26T06:30:01.000Z',
      type: 'CrashConsistent',
      sequence: n,
      generation: 1,
    });
    const { calls, out, code } = await tidemark(
      ['recovery-point', 'list', 'shop-rg/web1', '--json'],
      (call) =>
        call.url.includes('continuationToken')
          ? { status: 200, body: { recoveryPoints: [point(1)], continuationToken: null, nextLink: null } }
          : {
              status: 200,
              body: {
                recoveryPoints: [point(3), point(2)],
                continuationToken: 'abc',
                nextLink: '/api/vms/shop-rg/web1/recovery-points?top=2&continuationToken=abc',
              },
            },
    );
    expect(code).toBe(0);
    expect(calls.map((c) => c.url)).toEqual([
      'http://127.0.0.1:7071/api/vms/shop-rg/web1/recovery-points',
      'http://127.0.0.1:7071/api/vms/shop-rg/web1/recovery-points?top=2&continuationToken=abc',
    ]);
    expect(
      (JSON.parse(out.text()) as { recoveryPoints: { id: string }[] }).recoveryPoints.map((p) => p.id),
    ).toEqual(['rp-1-3', 'rp-1-2', 'rp-1-1']);
  });

  it('vm list, replication list and job list follow nextLink; --json prints every page joined', async () => {
    const vm = (name: string, protection: object | null = null): object => ({
      resourceGroup: 'rg',
      name,
      region: 'eastus',
      size: 'Standard_B1s',
      powerState: 'Running',
      disks: 1,
      nbd: null,
      protection,
    });
    const protectedVm = vm('b', { state: 'Protected', health: 'Healthy', rpoSeconds: 3 });
    const vmPages: Route = (call) =>
      call.url.includes('continuationToken=t1')
        ? { status: 200, body: { vms: [protectedVm] } }
        : {
            status: 200,
            body: {
              vms: [vm('a')],
              continuationToken: 't1',
              nextLink: '/api/vms?region=eastus&top=1&continuationToken=t1',
            },
          };
    const listed = await tidemark(['vm', 'list', '--region', 'eastus', '--json'], vmPages);
    expect(listed.code).toBe(0);
    expect(listed.calls.map((c) => c.url)).toEqual([
      'http://127.0.0.1:7071/api/vms?region=eastus',
      'http://127.0.0.1:7071/api/vms?region=eastus&top=1&continuationToken=t1',
    ]);
    expect(JSON.parse(listed.out.text())).toEqual({ vms: [vm('a'), protectedVm] });

    const replication = await tidemark(['replication', 'list', '--region', 'eastus', '--json'], vmPages);
    expect(replication.calls).toHaveLength(2);
    expect(JSON.parse(replication.out.text())).toEqual({ vms: [protectedVm] });
    const table = await tidemark(['replication', 'list'], vmPages);
    expect(table.code).toBe(0);
    expect(table.out.text()).toMatch(/^rg +b +eastus +Protected/m);

    const jobs = await tidemark(
      ['job', 'list', '--state', 'succeeded', '--vm', 'shop-rg/web1', '--json'],
      (call) =>
        call.url.includes('continuationToken')
          ? { status: 200, body: { jobs: [job('Succeeded')] } }
          : {
              status: 200,
              body: {
                jobs: [{ ...job('Succeeded'), id: 'failover-shop-rg-web1-x' }],
                continuationToken: 'abc',
                nextLink: '/api/jobs?state=Succeeded&vm=shop-rg%2Fweb1&top=1&continuationToken=abc',
              },
            },
    );
    expect(jobs.code).toBe(0);
    expect(jobs.calls.map((c) => c.url)).toEqual([
      'http://127.0.0.1:7071/api/jobs?state=Succeeded&vm=shop-rg%2Fweb1',
      'http://127.0.0.1:7071/api/jobs?state=Succeeded&vm=shop-rg%2Fweb1&top=1&continuationToken=abc',
    ]);
    expect((JSON.parse(jobs.out.text()) as { jobs: Job[] }).jobs.map((j) => j.id)).toEqual([
      'failover-shop-rg-web1-x',
      'enable-shop-rg-web1',
    ]);
  });

  it('follows a continuationToken when a page has no nextLink, and stops a list that never ends', async () => {
    const token = await tidemark(['job', 'list', '--json'], (call) =>
      call.url.includes('continuationToken')
        ? { status: 200, body: { jobs: [job('Failed')] } }
        : { status: 200, body: { jobs: [job('Succeeded')], continuationToken: 'x y' } },
    );
    expect(token.calls.map((c) => c.url)).toEqual([
      'http://127.0.0.1:7071/api/jobs',
      'http://127.0.0.1:7071/api/jobs?continuationToken=x%20y',
    ]);
    const endless = await tidemark(['vm', 'list'], () => ({
      status: 200,
      body: { vms: [], nextLink: '/api/vms?continuationToken=again' },
    }));
    expect(endless.code).toBe(2);
    expect(endless.out.errText()).toMatch(/more than 1000 pages/);
  });

  it('job list refuses a bad --state or --vm before any request', async () => {
    for (const args of [
      ['job', 'list', '--state', 'Done'],
      ['job', 'list', '--vm', 'web1'],
    ]) {
      const { code, calls, out } = await tidemark(args);
      expect(code).toBe(1);
      expect(calls).toEqual([]);
      expect(out.stderr[0]).toMatch(/^error: /);
    }
  });

  it('replication show refuses a VM that is not protected (exit 1)', async () => {
    const { code, out } = await tidemark(['replication', 'show', 'shop-rg/web1'], () => ({
      status: 200,
      body: { resourceGroup: 'shop-rg', name: 'web1', protectedItem: null },
    }));
    expect(code).toBe(1);
    expect(out.errText()).toBe(
      'error: Replication is not enabled for VM shop-rg/web1.\n  fix: Enable it with `tidemark replication enable shop-rg/web1`.',
    );
  });
});

describe('--wait and exit codes', () => {
  it('--wait follows the job to success: exit 0, steps printed', async () => {
    let polls = 0;
    const { code, out } = await tidemark(['replication', 'enable', 'shop-rg/web1', '--wait'], (call) => {
      if (call.method === 'POST') return { status: 202, body: { job: job('InProgress') } };
      polls++;
      return polls < 2
        ? {
            status: 200,
            body: job('InProgress', [
              { name: 'Prerequisites check', state: 'InProgress', startedAt: '2026-11-26T06:30:00.000Z' },
            ]),
          }
        : {
            status: 200,
            body: job('Succeeded', [
              {
                name: 'Prerequisites check',
                state: 'Succeeded',
                startedAt: '2026-11-26T06:30:00.000Z',
                endedAt: '2026-11-26T06:30:01.000Z',
              },
            ]),
          };
    });
    expect(code).toBe(0);
    expect(out.text()).toMatch(/Prerequisites check: InProgress/);
    expect(out.text()).toMatch(/STEP\s+STATE/);
    expect(out.stdout.at(-1)).toBe('Job enable-shop-rg-web1 Succeeded in 30s');
  });

  it('--wait on a failed job exits 3; with --json the final job is on stdout and the problem on stderr', async () => {
    const route: Route = (call) =>
      call.method === 'POST'
        ? { status: 202, body: { job: job('InProgress') } }
        : { status: 200, body: job('Failed') };
    const human = await tidemark(['replication', 'enable', 'shop-rg/web1', '--wait'], route);
    expect(human.code).toBe(3);
    expect(human.out.errText()).toMatch(
      /^error: Job enable-shop-rg-web1 failed: Initial replication failed: gone\.\n {2}fix: .*tidemark job show enable-shop-rg-web1/,
    );
    const json = await tidemark(['replication', 'enable', 'shop-rg/web1', '--wait', '--json'], route);
    expect(json.code).toBe(3);
    expect(JSON.parse(json.out.text())).toMatchObject({ id: 'enable-shop-rg-web1', state: 'Failed' });
    expect(JSON.parse(json.out.errText())).toMatchObject({ code: 'JobFailed', job: 'enable-shop-rg-web1' });
  });

  it('job watch of a cancelled job exits 3; of a succeeded one 0', async () => {
    expect(
      (await tidemark(['job', 'watch', 'j'], () => ({ status: 200, body: job('Cancelled') }))).code,
    ).toBe(3);
    expect(
      (await tidemark(['job', 'watch', 'j'], () => ({ status: 200, body: job('Succeeded') }))).code,
    ).toBe(0);
  });

  it('4xx → 1, 5xx → 2, and --json prints the API problem on stderr', async () => {
    const problem = {
      type: 'urn:tidemark:error:NotFound',
      title: 'Not found',
      status: 404,
      detail: 'VM shop-rg/nope does not exist in any region.',
      code: 'NotFound',
      hint: 'Create it.',
    };
    const notFound = await tidemark(['vm', 'show', 'shop-rg/nope'], () => ({ status: 404, body: problem }));
    expect(notFound.code).toBe(1);
    expect(notFound.out.errText()).toBe(
      'error: VM shop-rg/nope does not exist in any region.\n  fix: Create it.',
    );
    const json = await tidemark(['vm', 'show', 'shop-rg/nope', '--json'], () => ({
      status: 404,
      body: problem,
    }));
    expect(JSON.parse(json.out.errText())).toEqual(problem);
    expect(
      (
        await tidemark(['vm', 'list'], () => ({
          status: 503,
          body: { ...problem, status: 503, code: 'StorageUnavailable' },
        }))
      ).code,
    ).toBe(2);
  });

  it('vm list --json prints exactly the API JSON', async () => {
    const body = { vms: [{ resourceGroup: 'a', name: 'b', extra: [1, 2] }] };
    const { out } = await tidemark(['vm', 'list', '--json', '--region', 'eastus'], (call) => {
      expect(call.url).toBe('http://127.0.0.1:7071/api/vms?region=eastus');
      return { status: 200, body };
    });
    expect(JSON.parse(out.text())).toEqual(body);
  });
});

describe('help', () => {
  it('names the subcommand in the fix of a parse error, past global flags', async () => {
    const { out } = await tidemark(['--url', 'http://127.0.0.1:1', 'job', 'show']);
    expect(out.errText()).toBe(
      "error: Missing required argument 'id'.\n  fix: Run `tidemark job show --help` for usage.",
    );
  });

  it('shows the global flags in a subcommand help', async () => {
    const { out } = await tidemark(['failover', 'start', '--help']);
    expect(out.text()).toMatch(/Global Options:[\s\S]*--key <key>/);
    expect(out.text()).toMatch(/--recovery-point <point>[\s\S]*\(default\s+latest\)/);
  });
});
