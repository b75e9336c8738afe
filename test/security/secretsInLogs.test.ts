/**
 * No secret in any log line. A real stack (tidemark's compiled app in the local host, two Azurites,
 * a VM runner per region with its mobility agents) goes through a DR cycle: create a VM, enable
 * replication, fail over, post alerts with `?code=` and `?secret=`, call the durable webhooks with
 * the system key, and run the `tidemark` and `tidemark-agent` CLIs with keys and connection strings.
 * Every log record of the host (its own lines and the functions' context.log lines), of the agents,
 * and everything the CLIs print is then searched for: the function, master and system keys, the
 * storage account key (or any `AccountKey=` value), any SAS signature (`sig=`), and the alert secret.
 * Build first (`npm run build`; npm test does it).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadConfig } from '../../shared/config';
import { fabricServices } from '../../shared/fabric/services';
import type { Job } from '../../shared/jobs/types';
import { type LogRecord, RecordingLogger } from '../../shared/logger';
import { startVmRunners, type VmRunners } from '../../local/vmRunners';
import { ensureBuilt, REPO } from '../helpers/builtCli';
import { killAll, runCli } from '../helpers/cliProcess';
import { REPO_ROOT, startTidemarkStack, type TidemarkStack } from '../helpers/tidemarkHost';
import { waitFor } from '../helpers/waitFor';
import { DEVSTORE_ACCOUNT_KEY, findSecrets } from './support';

const TIDEMARK_CLI = path.join(REPO, 'dist/cli/tidemark.js');
const AGENT_CLI = path.join(REPO, 'dist/agent/cli.js');
const RG = 'sec-rg';
const VM = 'leaky1';
const SUB = '/subscriptions/11111111-2222-3333-4444-555555555555';
const ALERT_SECRET = `alert-secret-${crypto.randomBytes(12).toString('hex')}`;

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

describe('no secret in any log line', () => {
  let stack: TidemarkStack;
  let runners: VmRunners | undefined;
  const agentRecords: LogRecord[] = [];
  /** What each CLI run printed, by label. */
  const printed: [string, string][] = [];

  const secrets = (): Record<string, string> => ({
    'the function key': stack.host.keys.functionKey,
    'the master key': stack.host.keys.masterKey,
    'the durabletask system key': stack.host.keys.systemKey('durabletask_extension'),
    'the storage account key': DEVSTORE_ACCOUNT_KEY,
    'the alert secret': ALERT_SECRET,
  });

  async function call(method: string, route: string, body?: unknown, query = ''): Promise<Answer> {
    const res = await fetch(`${stack.host.url}/api/${route}${query}`, {
      method,
      headers: {
        ...(query.includes('code=') ? {} : { 'x-functions-key': stack.host.keys.functionKey }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  }

  async function waitForJob(id: string): Promise<Job> {
    return waitFor(
      async () => {
        const got = await call('GET', `jobs/${encodeURIComponent(id)}`);
        const job = got.body as unknown as Job;
        return got.status === 200 && job.state !== 'InProgress' ? job : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 250, what: `job ${id} to end` },
    );
  }

  async function cli(label: string, script: string, args: string[], env: Record<string, string> = {}) {
    const run = runCli(script, args, env);
    const code = await run.exit;
    printed.push([`${label} (stdout)`, run.lines.join('\n')], [`${label} (stderr)`, run.stderr()]);
    return { code, stdout: run.lines.join('\n'), stderr: run.stderr() };
  }

  /** Every captured text: host records, agent records, CLI output. */
  function captured(): [string, string][] {
    const records = (label: string, list: LogRecord[]): [string, string][] =>
      list.map((r, i) => [`${label} record ${i} (${r.level} ${r.msg.slice(0, 60)})`, JSON.stringify(r)]);
    return [...records('host', stack.logger.records), ...records('agent', agentRecords), ...printed];
  }

  function expectNoSecrets(): void {
    const findings = findSecrets(captured(), secrets());
    expect(findings, JSON.stringify(findings.slice(0, 5), null, 2)).toEqual([]);
  }

  beforeAll(async () => {
    ensureBuilt(TIDEMARK_CLI, ['cli', 'shared', 'agent', 'functions', 'orchestrations', 'host']);
    expect(fs.existsSync(path.join(REPO_ROOT, 'dist', 'index.js'))).toBe(true);
    stack = await startTidemarkStack({
      TIDEMARK_AGENT_HEARTBEAT_MS: '1000',
      TIDEMARK_ALERT_SECRET: ALERT_SECRET,
    });
    const settings = {
      TIDEMARK_SOURCE_REGION: 'eastus',
      TIDEMARK_TARGET_REGION: 'westus',
      TIDEMARK_SOURCE_STORAGE: stack.source.connectionString,
      TIDEMARK_TARGET_STORAGE: stack.target.connectionString,
    };
    runners = await startVmRunners(fabricServices(loadConfig(settings)), {
      dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'tidemark-sec-vms-')),
      logger: new RecordingLogger(agentRecords),
      pollIntervalMs: 200,
      agentOptions: { configPollIntervalMs: 300, statusIntervalMs: 1000 },
    });
  }, 300_000);

  afterAll(async () => {
    killAll();
    await runners?.stop();
    await stack?.stop();
  }, 120_000);

  it('enable replication and failover log no key, account key, SAS or secret', async () => {
    const put = await call('PUT', `vms/${RG}/${VM}`, {
      region: 'eastus',
      vnet: `${RG}-vnet`,
      subnet: 'default',
      size: 'Standard_B1s',
      disks: [{ name: 'os', sizeGiB: 8 / 1024 }],
    });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    await waitFor(
      async () => {
        const got = await call('GET', `vms/${RG}/${VM}`);
        const nbd = got.body.nbd as { exports: string[] } | null | undefined;
        return nbd && nbd.exports.length > 0 ? nbd : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: 'the agent to serve the VM' },
    );
    const enable = await call('POST', `vms/${RG}/${VM}/enable-replication`, {});
    expect(enable.status, JSON.stringify(enable.body)).toBe(202);
    const enabled = await waitForJob((enable.body.job as Job).id);
    expect(enabled.state, JSON.stringify(enabled)).toBe('Succeeded');
    // The agent has its SAS and ships with it: a few heartbeats reach the cache and are applied.
    await waitFor(
      async () => {
        const got = await call('GET', `vms/${RG}/${VM}`);
        const item = got.body.protectedItem as { watermark?: number } | null;
        return (item?.watermark ?? 0) >= 2 ? item : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'deltas to be applied' },
    );

    const failover = await call('POST', `vms/${RG}/${VM}/failover`, {
      recoveryPoint: 'latestProcessed',
      shutdownSource: true,
    });
    expect(failover.status, JSON.stringify(failover.body)).toBe(202);
    const failedOver = await waitForJob((failover.body.job as Job).id);
    expect(failedOver.state, JSON.stringify(failedOver)).toBe('Succeeded');
    expect(stack.logger.records.length).toBeGreaterThan(50);
    expect(agentRecords.length).toBeGreaterThan(0);
    expectNoSecrets();
  }, 300_000);

  it('the alert hook logs neither ?code= nor ?secret=, right or wrong', async () => {
    const alert = JSON.parse(
      fs.readFileSync(path.join(REPO_ROOT, 'test/fixtures/alerts/metric-vm-fired.json'), 'utf8'),
    ) as { data: { essentials: Record<string, unknown> } };
    const target = `${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachines/${VM}`;
    alert.data.essentials.alertId = `${SUB}/providers/Microsoft.AlertsManagement/alerts/${crypto.randomUUID()}`;
    alert.data.essentials.alertTargetIDs = [target];
    const code = encodeURIComponent(stack.host.keys.functionKey);
    const secret = encodeURIComponent(ALERT_SECRET);
    const ok = await call('POST', 'alerts', alert, `?code=${code}&secret=${secret}&dryRun=true`);
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    const wrongSecret = await call('POST', 'alerts', alert, `?code=${code}&secret=${secret}x`);
    expect(wrongSecret.status).toBe(401);
    const wrongKey = await call('POST', 'alerts', alert, `?code=${code}x&secret=${secret}`);
    expect(wrongKey.status).toBe(401);
    // Garbage that makes the function fail validation, with the secrets still in the URL.
    const bad = await call('POST', 'alerts', { schemaId: 'nope' }, `?code=${code}&secret=${secret}`);
    expect(bad.status).toBe(400);
    // The same through the function's own 500 path: a body that is not JSON.
    const res = await fetch(`${stack.host.url}/api/alerts?code=${code}&secret=${secret}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"not json',
    });
    expect(res.status).toBe(400);
    expectNoSecrets();
  }, 120_000);

  it('the durable webhooks called with the system key in ?code= log no key', async () => {
    const key = encodeURIComponent(stack.host.keys.systemKey('durabletask_extension'));
    const list = await fetch(`${stack.host.url}/runtime/webhooks/durabletask/instances?code=${key}`);
    expect(list.status).toBe(200);
    const links = JSON.stringify(await list.json());
    const missing = await fetch(`${stack.host.url}/runtime/webhooks/durabletask/instances/nope?code=${key}`);
    expect(missing.status).toBe(404);
    // The management links it hands out carry the key, by design: they are answers, not logs.
    expect(links.length).toBeGreaterThan(2);
    expectNoSecrets();
  }, 60_000);

  it('the tidemark CLI, with a right and a wrong key, prints and logs no key', async () => {
    const env = { TIDEMARK_URL: stack.host.url };
    const key = stack.host.keys.functionKey;
    expect((await cli('vm list --key', TIDEMARK_CLI, ['vm', 'list', '--key', key], env)).code).toBe(0);
    expect(
      (await cli('job list env', TIDEMARK_CLI, ['job', 'list'], { ...env, TIDEMARK_KEY: key })).code,
    ).toBe(0);
    const shown = await cli(
      'vm show --json',
      TIDEMARK_CLI,
      ['vm', 'show', `${RG}/${VM}`, '--json', '--key', key],
      env,
    );
    expect(shown.code).toBe(0);
    const wrong = await cli('wrong key', TIDEMARK_CLI, ['vm', 'list', '--key', `${key}x`], env);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/refused|401/i);
    const unreachable = await cli('unreachable', TIDEMARK_CLI, ['vm', 'list', '--key', key], {
      TIDEMARK_URL: `http://127.0.0.1:1/?code=${key}`,
    });
    expect(unreachable.code).not.toBe(0);
    expectNoSecrets();
  }, 120_000);

  it('the agent CLI, with good and bad connection strings, prints no account key', async () => {
    const cs = stack.source.connectionString;
    const status = await cli('agent status', AGENT_CLI, [
      'status',
      '--vm',
      `${RG}/${VM}`,
      '--source-storage',
      cs,
    ]);
    expect(status.code, status.stderr).toBe(0);
    // Unreachable storage with a full connection string, and a malformed one holding a key.
    const down = cs.replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:1');
    const unreachable = await cli('agent status unreachable', AGENT_CLI, [
      'status',
      '--vm',
      `${RG}/${VM}`,
      '--source-storage',
      down,
    ]);
    expect(unreachable.code).not.toBe(0);
    const malformed = await cli('agent status malformed', AGENT_CLI, [
      'status',
      '--vm',
      `${RG}/${VM}`,
      '--source-storage',
      `AccountName=x;AccountKey=${DEVSTORE_ACCOUNT_KEY};Nonsense`,
    ]);
    expect(malformed.code).toBe(1);
    expectNoSecrets();
  }, 120_000);
});
