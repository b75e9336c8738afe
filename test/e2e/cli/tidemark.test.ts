/**
 * `tidemark` end to end: the BUILT CLI (dist/cli/tidemark.js) as a child process against a real
 * stack (the local host with tidemark's app, two Azurites, VM runners). It creates a VM, lists and
 * shows it, enables replication with --wait, reads the protected item, recovery points and jobs, and
 * checks the error layout and exit codes (unknown VM, bad flags, unreachable host, missing and wrong
 * key). Test failover and its cleanup run when the host serves their routes.
 */
import net from 'node:net';
import path from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { ensureBuilt, REPO } from '../../helpers/builtCli';
import { killAll, runCli } from '../../helpers/cliProcess';
import { startWorkflowStack, type WorkflowStack } from '../../helpers/workflowStack';

const CLI = path.join(REPO, 'dist/cli/tidemark.js');
const RG = 'cli-rg';
const VM = 'web1';
const REF = `${RG}/${VM}`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('tidemark CLI against a local stack', () => {
  let stack: WorkflowStack;
  let enableJobId: string;

  async function tidemark(args: string[], env: Record<string, string> = {}): Promise<Run> {
    const cli = runCli(CLI, args, {
      TIDEMARK_URL: stack.host.url,
      TIDEMARK_KEY: stack.host.keys.functionKey,
      ...env,
    });
    const code = await cli.exit;
    return { code, stdout: cli.lines.join('\n'), stderr: cli.stderr() };
  }

  /** Whether the host serves `method route` (a 404 without a problem body is a route it lacks). */
  async function serves(method: string, route: string): Promise<boolean> {
    const got = await stack.api(method, route, method === 'GET' ? undefined : {});
    return !(got.status === 404 && !got.contentType.includes('problem'));
  }

  beforeAll(async () => {
    ensureBuilt(CLI, ['cli', 'shared', 'functions', 'orchestrations']);
    stack = await startWorkflowStack();
  }, 300_000);

  afterAll(async () => {
    killAll();
    await stack?.stop();
  }, 60_000);

  afterEach(() => {
    killAll();
  });

  it('vm create, then vm list and vm show, human and --json', async () => {
    const created = await tidemark([
      'vm',
      'create',
      REF,
      '--region',
      'eastus',
      '--vnet',
      'cli-vnet',
      '--subnet',
      'front',
      '--size',
      'Standard_B1s',
      '--disk',
      'os:0.0078125',
      '--disk',
      'data:0.00390625',
    ]);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^Created VM cli-rg\/web1\.$/m);
    expect(created.stdout).toMatch(/^Disks:\s+os {2}lun 0 {2}8 MiB\n\s+data {2}lun 1 {2}4 MiB$/m);

    const list = await tidemark(['vm', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(/^RESOURCE GROUP\s+NAME\s+REGION\s+SIZE\s+POWER/);
    expect(list.stdout).toMatch(/^cli-rg\s+web1\s+eastus\s+Standard_B1s\s+Running\s+2\s+Not protected/m);

    const listJson = await tidemark(['vm', 'list', '--json', '--region', 'eastus']);
    expect(listJson.code).toBe(0);
    const vms = (
      JSON.parse(listJson.stdout) as { vms: { resourceGroup: string; name: string; disks: number }[] }
    ).vms;
    expect(vms.find((v) => v.resourceGroup === RG && v.name === VM)).toMatchObject({
      disks: 2,
      region: 'eastus',
    });

    const show = await tidemark(['vm', 'show', REF]);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/^VM:\s+cli-rg\/web1$/m);
    expect(show.stdout).toMatch(/^Power state:\s+Running$/m);
    expect(show.stdout).toMatch(/^NICs:\s+web1-nic {2}10\.0\.\d+\.4 {2}cli-vnet\/front/m);

    const showJson = await tidemark(['vm', 'show', REF, '--json']);
    expect(JSON.parse(showJson.stdout)).toMatchObject({
      resourceGroup: RG,
      name: VM,
      region: 'eastus',
      protectedItem: null,
      disks: [
        { name: 'os', lun: 0 },
        { name: 'data', lun: 1 },
      ],
    });
  }, 120_000);

  it('replication enable --wait prints the steps and exits 0; the item is then Protected', async () => {
    await stack.nbdOf(RG, VM, 60_000);
    const enabled = await tidemark(['replication', 'enable', REF, '--retention-hours', '12', '--wait']);
    expect(enabled.stderr).toBe('');
    expect(enabled.code).toBe(0);
    const out = enabled.stdout;
    expect(out.split('\n')[0]).toMatch(/^Job (enable-cli-rg-web1): EnableReplication of cli-rg\/web1$/);
    enableJobId = /^Job (\S+):/.exec(out)![1]!;
    for (const step of [
      'Prerequisites check',
      'Identifying replication target',
      'Enable replication',
      'Waiting for the agent',
      'Initial replication',
      'Start continuous replication',
      'Creating the first recovery point',
    ]) {
      expect(out).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d {2}${step}: Succeeded`, 'm'));
      expect(out).toMatch(
        new RegExp(`^${step}\\s+Succeeded\\s+\\d\\d:\\d\\d:\\d\\d\\s+\\d\\d:\\d\\d:\\d\\d`, 'm'),
      );
    }
    expect(out).toMatch(/^STEP\s+STATE\s+STARTED\s+ENDED\s+DURATION$/m);
    expect(out.split('\n').at(-1)).toMatch(/^Job enable-cli-rg-web1 Succeeded in /);

    const item = await tidemark(['replication', 'show', REF, '--json']);
    expect(item.code).toBe(0);
    expect(JSON.parse(item.stdout)).toMatchObject({ state: 'Protected', policy: { retentionHours: 12 } });

    const human = await tidemark(['replication', 'show', REF]);
    expect(human.stdout).toMatch(/^State:\s+Protected$/m);
    expect(human.stdout).toMatch(/^Policy:\s+retention 12 h, app-consistent off$/m);

    const list = await tidemark(['replication', 'list']);
    expect(list.stdout).toMatch(/^cli-rg\s+web1\s+eastus\s+Protected\s+/m);
  }, 240_000);

  it('recovery-point list --json lists the first point', async (ctx) => {
    if (!(await serves('GET', `vms/${RG}/${VM}/recovery-points`))) ctx.skip();
    const points = await tidemark(['recovery-point', 'list', REF, '--json']);
    expect(points.stderr).toBe('');
    expect(points.code).toBe(0);
    const list = (JSON.parse(points.stdout) as { recoveryPoints: { id: string; type: string }[] })
      .recoveryPoints;
    expect(list.length).toBeGreaterThanOrEqual(1);
    expect(list[0]!.id).toMatch(/^rp-\d+-\d+$/);

    const human = await tidemark(['recovery-point', 'list', REF]);
    expect(human.stdout.split('\n')[0]).toMatch(/^ID\s+TYPE\s+TIME\s+CUT AT\s+GENERATION\s+SEQUENCE$/);
    expect(human.stdout).toContain(list[0]!.id);
  }, 60_000);

  it('job list, job show and job watch on a finished job', async () => {
    const list = await tidemark(['job', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(
      new RegExp(`^${enableJobId}\\s+EnableReplication\\s+cli-rg/web1\\s+Succeeded\\s+`, 'm'),
    );

    const show = await tidemark(['job', 'show', enableJobId]);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(new RegExp(`^Job:\\s+${enableJobId}$`, 'm'));
    expect(show.stdout).toMatch(/^State:\s+Succeeded$/m);
    expect(show.stdout).toMatch(/^Initial replication\s+Succeeded/m);

    const showJson = await tidemark(['job', 'show', enableJobId, '--json']);
    expect(JSON.parse(showJson.stdout)).toMatchObject({
      id: enableJobId,
      state: 'Succeeded',
      kind: 'EnableReplication',
    });

    const watch = await tidemark(['job', 'watch', enableJobId]);
    expect(watch.code).toBe(0);
    expect(watch.stdout.split('\n')[1]).toBe('');
    expect(watch.stdout).toMatch(/^Creating the first recovery point\s+Succeeded/m);
    expect(watch.stdout.split('\n').at(-1)).toMatch(/^Job enable-cli-rg-web1 Succeeded in /);
  }, 60_000);

  it('an unknown VM: the error layout and exit 1 (problem JSON with --json)', async () => {
    const missing = await tidemark(['vm', 'show', `${RG}/nope`]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toMatch(/^error: VM cli-rg\/nope does not exist[^\n]*\n {2}fix: [^\n]+\n$/);
    const json = await tidemark(['vm', 'show', `${RG}/nope`, '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stderr)).toMatchObject({ status: 404, code: 'NotFound' });

    const job = await tidemark(['job', 'show', 'no-such-job']);
    expect(job.code).toBe(1);
    expect(job.stderr).toMatch(/^error: .+\n {2}fix: .+\n$/);
  }, 60_000);

  it('bad flags are refused with the layout and exit 1', async () => {
    const cases: [string[], RegExp][] = [
      [['vm', 'show', 'web1'], /^error: "web1" is not a VM: it must be RESOURCE_GROUP\/NAME\.\n {2}fix: /],
      [
        ['replication', 'enable', REF, '--retention-hours', '-1'],
        /^error: --retention-hours "-1" is not valid/,
      ],
      [
        ['failover', 'start', REF, '--recovery-point', 'yesterday'],
        /^error: --recovery-point "yesterday" is not a recovery point\./,
      ],
      [
        [
          'vm',
          'create',
          `${RG}/web2`,
          '--region',
          'eastus',
          '--vnet',
          'v1',
          '--subnet',
          's',
          '--size',
          'Standard_B1s',
          '--disk',
          'os=1',
        ],
        /^error: --disk "os=1" is not NAME:SIZE_GIB\.\n {2}fix: Give each disk as --disk NAME:SIZE_GIB/,
      ],
      [
        ['vm', 'list', '--nope'],
        /^error: Unknown option '--nope'\.\n {2}fix: Run `tidemark vm list --help` for usage\.\n$/,
      ],
    ];
    for (const [args, stderr] of cases) {
      const r = await tidemark(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(stderr);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    // Nothing was created by the refused vm create.
    expect((await stack.api('GET', `vms/${RG}/web2`)).status).toBe(404);
  }, 60_000);

  it('an unreachable host exits 2; a missing or wrong key exits 1 with a fix naming --key and TIDEMARK_KEY', async () => {
    const port = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as net.AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const down = await tidemark(['vm', 'list', '--url', `http://127.0.0.1:${port}`]);
    expect(down.code).toBe(2);
    expect(down.stderr).toBe(
      `error: Cannot reach tidemark at http://127.0.0.1:${port} (ECONNREFUSED).\n` +
        '  fix: Start the host (`npm start`), or point --url (or TIDEMARK_URL) at a running one.\n',
    );

    const noKey = await tidemark(['vm', 'list'], { TIDEMARK_KEY: '' });
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toMatch(
      /^error: No function key was given, and the API needs one \(401 Unauthorized\)\.\n {2}fix: .*--key.*TIDEMARK_KEY/,
    );

    const wrongKey = await tidemark(['vm', 'list', '--key', 'not-the-key']);
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toMatch(
      /^error: The function key was refused \(401 Unauthorized\)\.\n {2}fix: .*--key.*TIDEMARK_KEY/,
    );

    const json = await tidemark(['vm', 'list', '--json'], { TIDEMARK_KEY: '' });
    expect(JSON.parse(json.stderr)).toMatchObject({ status: 401, code: 'Unauthorized' });
  }, 60_000);

  it('failover test --wait, then failover cleanup --wait', async (ctx) => {
    if (!(await serves('POST', 'vms/no-rg/no-vm/test-failover'))) ctx.skip();
    const test = await tidemark(['failover', 'test', REF, '--recovery-point', 'latestProcessed', '--wait']);
    expect(test.stderr).toBe('');
    expect(test.code).toBe(0);
    expect(test.stdout.split('\n')[0]).toMatch(/^Job \S+: TestFailover of cli-rg\/web1$/);
    expect(test.stdout.split('\n').at(-1)).toMatch(/ Succeeded in /);
    const item = JSON.parse((await tidemark(['replication', 'show', REF, '--json'])).stdout) as {
      state: string;
    };
    expect(item.state).toBe('TestFailedOver');

    const cleanup = await tidemark(['failover', 'cleanup', REF, '--wait', '--json']);
    expect(cleanup.stderr).toBe('');
    expect(cleanup.code).toBe(0);
    expect(JSON.parse(cleanup.stdout)).toMatchObject({ kind: 'TestFailoverCleanup', state: 'Succeeded' });
    const after = JSON.parse((await tidemark(['replication', 'show', REF, '--json'])).stdout) as {
      state: string;
    };
    expect(after.state).toBe('Protected');
  }, 300_000);
});
