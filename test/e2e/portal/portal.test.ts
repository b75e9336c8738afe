/**
 * The portal in a real browser: Debian's Chromium driven by playwright-core against the whole local
 * stack (startWorkflowStack). A VM made through the API is protected from the page (Enable with the
 * defaults), then test failed over and cleaned up, each step watched in the page and checked through
 * the API. Saves test-results/portal.png. Build first (`npm run build`; npm test does it).
 *
 * Needs /usr/bin/chromium (`apt-get install -y chromium`; TIDEMARK_CHROMIUM names another binary):
 * skipped with a note without it, except on CI, where it fails.
 */
import fs from 'node:fs';
import path from 'node:path';

import { type Browser, chromium, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Job } from '../../../shared/jobs/types';
import { REPO_ROOT } from '../../helpers/tidemarkHost';
import { waitFor } from '../../helpers/waitFor';
import { startWorkflowStack, type WorkflowStack } from '../../helpers/workflowStack';

const CHROMIUM = process.env.TIDEMARK_CHROMIUM ?? '/usr/bin/chromium';
const hasChromium = ((): boolean => {
  try {
    fs.accessSync(CHROMIUM, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
})();
const onCi = Boolean(process.env.CI);
const skip = !hasChromium && !onCi;
const note = skip ? ` (skipped: no ${CHROMIUM}: apt-get install -y chromium)` : '';
// The test-failover routes are being built alongside the portal; that part runs once they exist.
const hasTestFailover = fs.existsSync(path.join(REPO_ROOT, 'dist', 'functions', 'testFailover.js'));

const RG = 'portal-rg';
const VM = 'web1';
const VM_KEY = `${RG}/${VM}`;
const SCREENSHOT = path.join(REPO_ROOT, 'test-results', 'portal.png');

describe.skipIf(skip)(`the portal in Chromium${note}`, () => {
  let stack: WorkflowStack;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    if (!hasChromium)
      throw new Error(`Chromium is required on CI: apt-get install -y chromium (${CHROMIUM})`);
    stack = await startWorkflowStack();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
    page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    // The page's own errors; Chromium's notes on refused requests (the 401 and 400 below) are expected.
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !/^Failed to load resource/.test(msg.text())) pageErrors.push(msg.text());
    });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  }, 120_000);

  /** The job card whose id starts with `prefix`. */
  function jobCard(prefix: string): Locator {
    return page.locator(`li.job[data-job-id^="${prefix}"]`).first();
  }

  /**
   * Waits until the job card shows Succeeded, recording each distinct set of step states seen on the
   * way; fails at once when it shows Failed.
   */
  async function watchJob(prefix: string, timeoutMs: number): Promise<string[]> {
    const seen: string[] = [];
    await waitFor(
      async () => {
        const card = jobCard(prefix);
        if ((await card.count()) === 0) return false;
        const steps = await card
          .locator('li.step')
          .evaluateAll((els) => els.map((e) => `${e.getAttribute('data-step')}=${e.className}`).join(' | '));
        if (seen[seen.length - 1] !== steps) seen.push(steps);
        const state = await card.locator('.job-state').textContent();
        if (state === 'Failed' || state === 'Cancelled') {
          throw Object.assign(new Error(`job ${prefix} ${state}: ${await card.textContent()}`), {
            fatal: true,
          });
        }
        return state === 'Succeeded';
      },
      { timeoutMs, intervalMs: 250, what: `job ${prefix} to succeed in the page` },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\nsteps seen:\n${seen.join('\n')}`);
    });
    return seen;
  }

  async function apiJob(prefix: string): Promise<Job> {
    const jobs = (await stack.api('GET', 'jobs')).body.jobs as Job[];
    const job = jobs.find((j) => j.id.startsWith(prefix));
    if (!job) throw new Error(`no job ${prefix}`);
    return job;
  }

  it('serves its files with their types and nothing else', async () => {
    const base = `${stack.host.url}/api/portal`;
    const redirect = await fetch(base, { redirect: 'manual' });
    expect(redirect.status).toBe(308);
    expect(new URL(redirect.headers.get('location') ?? '', base).href).toBe(`${base}/`);
    const html = await fetch(`${base}/`);
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(html.headers.get('cache-control')).toBe('no-cache');
    expect(html.headers.get('content-security-policy')).toContain("script-src 'self'");
    const etag = html.headers.get('etag') ?? '';
    expect((await fetch(`${base}/`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    for (const [file, type] of [
      ['app.js', 'text/javascript; charset=utf-8'],
      ['lib/format.js', 'text/javascript; charset=utf-8'],
      ['styles.css', 'text/css; charset=utf-8'],
      ['favicon.svg', 'image/svg+xml'],
    ]) {
      const res = await fetch(`${base}/${file}`);
      expect(res.status, file).toBe(200);
      expect(res.headers.get('content-type'), file).toBe(type);
    }
    for (const bad of [
      '..%2F..%2Fhost.json',
      '..%2F..%2Fpackage.json',
      'lib/format.d.ts',
      'missing.js',
      'lib',
    ]) {
      expect((await fetch(`${base}/${bad}`)).status, bad).toBe(404);
    }
  });

  it('asks for the key, protects a VM and runs a test failover from the page', async () => {
    const put = await stack.api('PUT', `vms/${RG}/${VM}`, {
      region: 'eastus',
      vnet: `${RG}-vnet`,
      subnet: 'default',
      size: 'Standard_B1s',
      disks: [{ name: 'os', sizeGiB: 8 / 1024 }],
    });
    expect(put.status).toBe(201);
    await stack.nbdOf(RG, VM);

    await page.goto(`${stack.host.url}/api/portal/`);
    const keyDialog = page.locator('#key-dialog');
    await keyDialog.waitFor({ state: 'visible' });
    // A wrong key is refused (401) and asked for again.
    await page.locator('#key-input').fill('not-the-key');
    await page.getByRole('button', { name: 'Use key' }).click();
    await expect.poll(() => page.locator('#key-message').textContent(), { timeout: 15_000 }).toContain('401');
    await page.locator('#key-input').fill(stack.host.keys.functionKey);
    await page.getByRole('button', { name: 'Use key' }).click();
    await keyDialog.waitFor({ state: 'hidden' });

    const row = page.locator(`tr[data-vm="${VM_KEY}"]`);
    await row.waitFor({ timeout: 15_000 });
    await expect.poll(() => row.locator('td.col-power').textContent()).toBe('Running');
    await expect.poll(() => row.locator('td.col-protection .state').textContent()).toBe('Not protected');
    await page.locator('#health .region-chip').first().waitFor();

    // Enable, first with a target name Azure refuses: the dialog shows the API's problem.
    await row.getByRole('button', { name: VM }).click();
    await page.locator('#detail-title').getByText(VM).waitFor();
    await page.locator('[data-action="enable"]').click();
    const dialog = page.locator('#action-dialog');
    await dialog.waitFor({ state: 'visible' });
    await page.getByLabel('Target resource group').fill('bad name!');
    await dialog.getByRole('button', { name: 'Enable replication' }).click();
    const formProblem = page.locator('#form-problem');
    await formProblem.waitFor({ state: 'visible', timeout: 15_000 });
    expect(await formProblem.locator('.problem-title').textContent()).toMatch(/Invalid/);
    expect(await formProblem.textContent()).toContain('bad name!');
    await page.getByLabel('Target resource group').fill('');
    await dialog.getByRole('button', { name: 'Enable replication' }).click();
    await dialog.waitFor({ state: 'hidden', timeout: 15_000 });

    const enableSteps = await watchJob(`enable-${RG}-${VM}`, 150_000);
    // The steps advanced while we watched, and all ended Succeeded.
    expect(enableSteps.length).toBeGreaterThan(1);
    const finalSteps = jobCard(`enable-${RG}-${VM}`).locator('li.step');
    expect(await finalSteps.count()).toBe(7);
    for (const cls of await finalSteps.evaluateAll((els) => els.map((e) => e.className))) {
      expect(cls).toContain('step-succeeded');
    }
    await expect
      .poll(() => page.locator('[data-testid="protection-state"]').textContent(), { timeout: 30_000 })
      .toBe('Protected');
    await expect
      .poll(() => page.locator('[data-testid="health"]').textContent(), { timeout: 30_000 })
      .toBe('Healthy');
    await expect
      .poll(() => row.locator('td.col-protection .state').textContent(), { timeout: 15_000 })
      .toBe('Protected');
    expect(await row.locator('td.col-health .badge').textContent()).toBe('Healthy');
    await expect.poll(() => row.locator('td.col-rpo').textContent(), { timeout: 15_000 }).toMatch(/^\d+ s$/);
    // The first recovery point is listed.
    await page.locator('.points-table tbody tr').first().waitFor({ timeout: 30_000 });

    const enabled = (await stack.api('GET', `vms/${RG}/${VM}`)).body;
    expect((enabled.protectedItem as { state: string }).state).toBe('Protected');
    expect((await apiJob(`enable-${RG}-${VM}`)).state).toBe('Succeeded');

    if (!hasTestFailover) {
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      return;
    }

    // Test failover from the latest processed point (the form's default).
    await page.locator('[data-action="testFailover"]').click();
    await dialog.waitFor({ state: 'visible' });
    expect(await page.locator('#mode-latestProcessed').isChecked()).toBe(true);
    await dialog.getByRole('button', { name: 'Test failover' }).click();
    await dialog.waitFor({ state: 'hidden', timeout: 15_000 });
    await watchJob(`testfailover-${RG}-${VM}`, 150_000);
    const testRow = page.locator(`tr[data-vm="${RG}-asr/${VM}-test"]`);
    await testRow.waitFor({ timeout: 30_000 });
    await expect
      .poll(() => page.locator('[data-testid="protection-state"]').textContent(), { timeout: 30_000 })
      .toBe('Test failed over');
    await expect
      .poll(() => page.locator('[data-testid="test-vm"]').textContent(), { timeout: 15_000 })
      .toContain(`${VM}-test`);
    const tested = (await stack.api('GET', `vms/${RG}/${VM}`)).body.protectedItem as { state: string };
    expect(tested.state).toBe('TestFailedOver');
    expect((await stack.api('GET', `vms/${RG}-asr/${VM}-test`)).status).toBe(200);
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    // Cleanup, confirmed in the dialog.
    await page.locator('[data-action="testFailoverCleanup"]').click();
    const confirm = page.locator('#confirm-dialog');
    await confirm.waitFor({ state: 'visible' });
    expect(await page.locator('#confirm-title').textContent()).toContain(VM_KEY);
    await page.locator('#confirm-ok').click();
    await confirm.waitFor({ state: 'hidden' });
    await watchJob(`testcleanup-${RG}-${VM}`, 150_000);
    await testRow.waitFor({ state: 'detached', timeout: 30_000 });
    await expect
      .poll(() => page.locator('[data-testid="protection-state"]').textContent(), { timeout: 30_000 })
      .toBe('Protected');
    const cleaned = (await stack.api('GET', `vms/${RG}/${VM}`)).body.protectedItem as { state: string };
    expect(cleaned.state).toBe('Protected');
    expect((await stack.api('GET', `vms/${RG}-asr/${VM}-test`)).status).toBe(404);
    expect((await apiJob(`testcleanup-${RG}-${VM}`)).state).toBe('Succeeded');
    expect(pageErrors).toEqual([]);
  }, 600_000);
});
