// The tidemark portal: VMs of every region with their protection, one VM's detail and actions, and
// the jobs those actions start. Plain ES modules, no framework: state in one object, each part of the
// page rebuilt from it when its data changes (docs/portal.md).

import { actionById, allowedActions, confirmationFor } from './lib/actions.js';
import { ApiError, apiBaseFor, createApi, listAll } from './lib/api.js';
import {
  formatAgo,
  formatBytes,
  formatElapsed,
  formatRpo,
  formatSeconds,
  formatTime,
  healthClass,
  humanize,
  isoToLocalInput,
  rpoLevel,
  vmKey,
  vmLabel,
} from './lib/format.js';
import {
  CHOICE_LABELS,
  describeChoice,
  enableBody,
  failoverBody,
  FormError,
  initialReplicationProgress,
  jobChanges,
  jobsOfVm,
  testFailoverBody,
} from './lib/requests.js';

const KEY_STORAGE = 'tidemark.functionKey';
const POLL_MS = 3000;
const HEALTH_POLL_MS = 30_000;
/** Recovery points change at most every few minutes; read them every this many polls. */
const POINTS_EVERY = 5;
const MAX_JOBS_SHOWN = 30;

/** @typedef {import('./lib/requests.js').Job} Job */
/** @typedef {import('./lib/requests.js').ProblemView} ProblemView */

const state = {
  /** @type {any[]} */
  vms: [],
  /** @type {Job[]} */
  jobs: [],
  /** @type {Map<string, Job>} */
  jobsById: new Map(),
  jobsLoaded: false,
  /** @type {any} */
  health: null,
  /** @type {{resourceGroup: string, name: string} | null} */
  selected: null,
  /** @type {any} */
  detail: null,
  /** @type {ProblemView | null} */
  detailProblem: null,
  /** @type {any[] | null} */
  points: null,
  /** @type {ProblemView | null} */
  pointsProblem: null,
  pointsAge: 0,
  /** Health reasons of VMs the list shows as not Healthy, read from their detail. */
  /** @type {Map<string, string[]>} */
  reasons: new Map(),
  /** Which job cards the user opened or closed. */
  /** @type {Map<string, boolean>} */
  openJobs: new Map(),
  /** @type {ProblemView | null} */
  actionProblem: null,
  updatedAt: 0,
  polling: false,
};

/** @type {Record<string, string>} The last rendered signature of each part, to skip needless rebuilds. */
const rendered = {};

const api = createApi({ base: apiBaseFor(location.href), getKey });

// ---------------------------------------------------------------------------------------- DOM helpers

/**
 * @param {string} id
 * @returns {any}
 */
function $(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`The page has no #${id}`);
  return el;
}

/**
 * @param {string} selector
 * @returns {HTMLElement | null}
 */
function $focusable(selector) {
  return document.querySelector(selector);
}

/**
 * Builds an element: `h('p', {class: 'x'}, 'text', child)`. Attributes starting with `on` are
 * listeners; `false`/`null`/`undefined` attributes and children are skipped. Text is never parsed
 * as HTML.
 * @param {string} tag
 * @param {Record<string, any> | null} [attrs]
 * @param {...any} children
 * @returns {any}
 */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (name === 'value' && 'value' in el) el.value = String(value);
    else if (name === 'checked' || name === 'selected' || name === 'open') el[name] = Boolean(value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  appendAll(el, children);
  return el;
}

/**
 * @param {any} el
 * @param {any[]} children
 */
function appendAll(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

/**
 * Replaces an element's content with `children` (nested arrays and nulls allowed, as for `h`).
 * @param {any} el
 * @param {any[]} children
 */
function setChildren(el, ...children) {
  el.replaceChildren();
  appendAll(el, children);
}

/**
 * Replaces a container's content, keeping keyboard focus on the element with the same
 * `data-focus-key` when focus was inside.
 * @param {any} container
 * @param {any[]} nodes
 */
function replaceKeepingFocus(container, nodes) {
  const active = document.activeElement;
  const key = active && container.contains(active) ? active.getAttribute('data-focus-key') : null;
  container.replaceChildren();
  appendAll(container, nodes);
  if (key) {
    const again = container.querySelector(`[data-focus-key="${CSS.escape(key)}"]`);
    if (again) again.focus({ preventScroll: true });
  }
}

/**
 * A definition list from `[term, value]` pairs; pairs whose value is undefined are left out.
 * @param {[string, any][]} rows
 */
function facts(rows) {
  return h(
    'dl',
    { class: 'facts' },
    rows
      .filter(([, v]) => v !== undefined)
      .map(([term, value]) => [h('dt', null, term), h('dd', null, value)]),
  );
}

/**
 * A problem as the API worded it: title, detail, hint and each field error.
 * @param {ProblemView} problem
 */
function problemNodes(problem) {
  return [
    h('strong', { class: 'problem-title' }, problem.title),
    problem.detail ? h('p', { class: 'problem-detail' }, problem.detail) : null,
    problem.hint ? h('p', { class: 'problem-hint' }, problem.hint) : null,
    problem.errors.length > 0
      ? h(
          'ul',
          { class: 'problem-errors' },
          problem.errors.map((e) =>
            h('li', null, e.path ? [h('code', null, e.path), ': '] : null, e.message),
          ),
        )
      : null,
  ];
}

/** @param {unknown} err */
function toProblem(err) {
  if (err instanceof ApiError) return err.problem;
  if (err instanceof FormError) return { title: err.message, errors: err.errors };
  return { title: 'Something went wrong in the page', detail: String(err), errors: [] };
}

/** @param {string} message */
function announce(message) {
  const el = $('announcer');
  const line = h('p', null, message);
  el.append(line);
  while (el.childElementCount > 5) el.firstElementChild.remove();
}

/** @param {ProblemView | null} problem */
function showBanner(problem) {
  const el = $('banner');
  if (!problem) {
    el.hidden = true;
    el.replaceChildren();
    return;
  }
  el.hidden = false;
  setChildren(el, problemNodes(problem));
}

// ------------------------------------------------------------------------------------------ the key

/** @returns {string | null} */
function getKey() {
  try {
    return sessionStorage.getItem(KEY_STORAGE);
  } catch {
    return null;
  }
}

/** @param {string | null} key */
function setKey(key) {
  try {
    if (key) sessionStorage.setItem(KEY_STORAGE, key);
    else sessionStorage.removeItem(KEY_STORAGE);
  } catch {
    // Storage refused (private mode): the key then lasts until the page is reloaded.
  }
}

/** @param {string} [message] */
function askForKey(message) {
  const dialog = $('key-dialog');
  $('key-message').textContent =
    message ?? 'The API needs the function app’s function key (or its master key); npm start prints it.';
  $('key-cancel').hidden = !getKey();
  if (!dialog.open) {
    $('key-input').value = '';
    dialog.showModal();
  }
  $('key-input').focus();
}

function setUpKeyDialog() {
  const dialog = $('key-dialog');
  $('key-form').addEventListener('submit', (/** @type {SubmitEvent} */ event) => {
    const key = $('key-input').value.trim();
    if (!key) {
      event.preventDefault();
      return;
    }
    setKey(key);
    void refresh({ points: true });
  });
  $('key-cancel').addEventListener('click', () => dialog.close());
  // Without a key nothing works: Escape does not dismiss the dialog then.
  dialog.addEventListener('cancel', (/** @type {Event} */ event) => {
    if (!getKey()) event.preventDefault();
  });
  $('change-key').addEventListener('click', () => askForKey('Enter the function key to use from now on.'));
}

/**
 * Calls the API; a 401 forgets the key and asks for another one.
 * @param {string} method
 * @param {string} route
 * @param {unknown} [body]
 */
async function call(method, route, body) {
  try {
    return await api.request(method, route, body);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      setKey(null);
      askForKey('The function app refused the key (401). Enter a valid function key.');
    }
    throw err;
  }
}

/**
 * @param {{resourceGroup: string, name: string}} vm
 * @param {string} [sub]
 */
function vmRoute(vm, sub) {
  return `vms/${encodeURIComponent(vm.resourceGroup)}/${encodeURIComponent(vm.name)}${sub ? `/${sub}` : ''}`;
}

// ------------------------------------------------------------------------------------------ polling

let tick = 0;

/**
 * Reads the VMs, the jobs and the selected VM, then redraws what changed.
 * @param {{points?: boolean}} [options]
 */
async function refresh(options = {}) {
  if (!getKey() || state.polling) return;
  state.polling = true;
  try {
    tick++;
    // Every page of both lists (docs/portal.md), a thousand items a request.
    const [vms, nextJobs] = await Promise.all([
      listAll(call, 'vms?top=1000', 'vms'),
      listAll(call, 'jobs?top=1000', 'jobs'),
    ]);
    state.vms = vms;
    if (state.jobsLoaded) for (const line of jobChanges(state.jobsById, nextJobs, jobName)) announce(line);
    state.jobs = nextJobs;
    state.jobsById = new Map(nextJobs.map((/** @type {Job} */ j) => [j.id, j]));
    state.jobsLoaded = true;
    state.updatedAt = Date.now();
    showBanner(null);
    await Promise.all([refreshDetail(options.points || tick % POINTS_EVERY === 0), refreshReasons()]);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) showBanner(toProblem(err));
  } finally {
    state.polling = false;
  }
  render();
}

/** @param {boolean} withPoints */
async function refreshDetail(withPoints) {
  const selected = state.selected;
  if (!selected) return;
  try {
    const detail = await call('GET', vmRoute(selected));
    if (state.selected !== selected) return;
    state.detail = detail;
    state.detailProblem = null;
    if (detail.protectedItem?.healthReasons) {
      state.reasons.set(vmKey(detail.resourceGroup, detail.name), detail.protectedItem.healthReasons);
    }
  } catch (err) {
    if (state.selected !== selected) return;
    state.detailProblem = toProblem(err);
    if (err instanceof ApiError && err.status === 404) state.detail = null;
    return;
  }
  if (!state.detail?.protectedItem) {
    state.points = null;
    state.pointsProblem = null;
    return;
  }
  if (!withPoints && state.points) return;
  try {
    const points = await listAll(call, `${vmRoute(selected, 'recovery-points')}?top=1000`, 'recoveryPoints');
    if (state.selected !== selected) return;
    state.points = points;
    state.pointsProblem = null;
  } catch (err) {
    if (state.selected !== selected) return;
    state.pointsProblem = toProblem(err);
  }
}

/** The list has no health reasons: read them for the few VMs that are not Healthy. */
async function refreshReasons() {
  const wanted = state.vms.filter(
    (vm) =>
      vm.protection &&
      vm.protection.health !== 'Healthy' &&
      !vm.protection.healthReasons &&
      !(
        state.selected &&
        vmKey(vm.resourceGroup, vm.name) === vmKey(state.selected.resourceGroup, state.selected.name)
      ),
  );
  await Promise.all(
    wanted.slice(0, 10).map(async (vm) => {
      try {
        const detail = await call('GET', vmRoute(vm));
        state.reasons.set(vmKey(vm.resourceGroup, vm.name), detail.protectedItem?.healthReasons ?? []);
      } catch {
        // Only a tooltip is missing; the list itself is fine.
      }
    }),
  );
}

async function refreshHealth() {
  try {
    const res = await fetch(new URL('health', apiBaseFor(location.href)).href, { cache: 'no-store' });
    state.health = await res.json();
  } catch (err) {
    state.health = { status: 'Unreachable', error: err instanceof Error ? err.message : String(err) };
  }
  renderHealth();
}

/** The region VMs are protected from, as /api/health names it. */
function sourceRegion() {
  return state.health?.regions?.find((/** @type {any} */ r) => r.role === 'source')?.name;
}

function targetRegion() {
  return state.health?.regions?.find((/** @type {any} */ r) => r.role === 'target')?.name;
}

// ------------------------------------------------------------------------------------------- render

function render() {
  renderVms();
  renderDetail();
  renderJobs();
}

/**
 * Runs `draw` only when `signature` differs from the last one drawn for `part`.
 * @param {string} part
 * @param {unknown} signature
 * @param {() => void} draw
 */
function drawIfChanged(part, signature, draw) {
  const text = JSON.stringify(signature);
  if (rendered[part] === text) return;
  rendered[part] = text;
  draw();
}

function renderHealth() {
  const health = state.health;
  const el = $('health');
  if (!health) return;
  const status = health.status ?? 'Unknown';
  const cls = status === 'Healthy' ? 'healthy' : status === 'Degraded' ? 'warning' : 'critical';
  const regions = Array.isArray(health.regions) ? health.regions : [];
  setChildren(
    el,
    h('span', { class: `dot dot-${cls}`, 'aria-hidden': 'true' }),
    h('span', null, `Function app ${status.toLowerCase()}`),
    health.version ? h('span', { class: 'muted' }, ` · v${health.version}`) : null,
    regions.map((/** @type {any} */ r) =>
      h(
        'span',
        {
          class: `region-chip ${r.reachable ? 'ok' : 'down'}`,
          title: r.reachable
            ? `${r.role} region, storage answered in ${r.latencyMs} ms`
            : (r.error ?? 'unreachable'),
        },
        `${r.name} (${r.role})${r.reachable ? '' : ': unreachable'}`,
      ),
    ),
  );
}

/** @param {any} vm */
function isSelected(vm) {
  return Boolean(
    state.selected &&
    vmKey(vm.resourceGroup, vm.name) === vmKey(state.selected.resourceGroup, state.selected.name),
  );
}

function renderVms() {
  $('vms-updated').textContent = state.updatedAt ? `Updated ${formatTime(state.updatedAt).slice(11)}` : '';
  const rows = state.vms.map((vm) => {
    const key = vmKey(vm.resourceGroup, vm.name);
    return {
      vm,
      key,
      selected: isSelected(vm),
      progress: initialReplicationProgress(state.jobs, vm.resourceGroup, vm.name),
      reasons: vm.protection?.healthReasons ?? state.reasons.get(key) ?? [],
    };
  });
  drawIfChanged('vms', rows, () => {
    $('vms-empty').hidden = rows.length > 0;
    replaceKeepingFocus($('vm-rows'), rows.map(vmRow));
  });
}

/**
 * @param {{vm: any, key: string, selected: boolean, progress: number | undefined, reasons: string[]}} row
 */
function vmRow({ vm, key, selected, progress, reasons }) {
  const p = vm.protection;
  const select = () => selectVm(vm.resourceGroup, vm.name);
  return h(
    'tr',
    { class: selected ? 'selected' : null, 'data-vm': key, onclick: select },
    h(
      'th',
      { scope: 'row' },
      h(
        'button',
        {
          type: 'button',
          class: 'vm-link',
          'data-focus-key': `vm:${key}`,
          'aria-current': selected ? 'true' : null,
          onclick: (/** @type {Event} */ e) => {
            e.stopPropagation();
            select();
          },
        },
        vm.name,
      ),
      h('span', { class: 'vm-rg' }, vm.resourceGroup),
    ),
    h('td', { class: 'col-region' }, vm.region),
    h(
      'td',
      { class: 'col-power' },
      h('span', { class: `power power-${String(vm.powerState).toLowerCase()}` }, vm.powerState),
    ),
    h(
      'td',
      { class: 'col-protection' },
      p
        ? h('span', { class: 'state' }, humanize(p.state))
        : h('span', { class: 'state muted' }, 'Not protected'),
      progress !== undefined
        ? h(
            'span',
            { class: 'inline-progress' },
            h('progress', { max: 100, value: progress, 'aria-label': `Initial replication of ${vm.name}` }),
            h('span', { class: 'small' }, `${Math.round(progress)}%`),
          )
        : null,
    ),
    h(
      'td',
      { class: 'col-health' },
      p
        ? [
            h(
              'span',
              {
                class: `badge health-${healthClass(p.health)}`,
                title: reasons.length ? reasons.join('\n') : p.health,
              },
              p.health,
            ),
            reasons.length ? h('span', { class: 'visually-hidden' }, `: ${reasons.join('; ')}`) : null,
          ]
        : h('span', { class: 'muted' }, '—'),
    ),
    h('td', { class: `col-rpo num rpo rpo-${rpoLevel(p?.rpoSeconds)}` }, p ? formatRpo(p.rpoSeconds) : '—'),
  );
}

/**
 * @param {string} resourceGroup
 * @param {string} name
 */
function selectVm(resourceGroup, name) {
  const same =
    state.selected && vmKey(state.selected.resourceGroup, state.selected.name) === vmKey(resourceGroup, name);
  if (!same) {
    state.selected = { resourceGroup, name };
    state.detail = null;
    state.detailProblem = null;
    state.points = null;
    state.pointsProblem = null;
    state.actionProblem = null;
    history.replaceState(null, '', `#vm=${encodeURIComponent(resourceGroup)}/${encodeURIComponent(name)}`);
  }
  render();
  void refreshSelected();
  $('detail').scrollIntoView({ block: 'nearest', behavior: 'smooth' });
}

async function refreshSelected() {
  await refreshDetail(true);
  render();
}

function closeDetail() {
  const key = state.selected ? `vm:${vmKey(state.selected.resourceGroup, state.selected.name)}` : null;
  state.selected = null;
  state.detail = null;
  history.replaceState(null, '', location.pathname + location.search);
  render();
  if (key) $focusable(`[data-focus-key="${CSS.escape(key)}"]`)?.focus();
}

function renderDetail() {
  const section = $('detail');
  if (!state.selected) {
    section.hidden = true;
    rendered.detail = '';
    return;
  }
  section.hidden = false;
  const sel = state.selected;
  const running = jobsOfVm(state.jobs, sel.resourceGroup, sel.name).filter((j) => j.state === 'InProgress');
  drawIfChanged(
    'detail',
    {
      sel,
      detail: state.detail,
      problem: state.detailProblem,
      points: state.points,
      pointsProblem: state.pointsProblem,
      actionProblem: state.actionProblem,
      running: running.map((j) => j.id),
      regions: [sourceRegion(), targetRegion()],
    },
    () => replaceKeepingFocus(section, detailNodes(running)),
  );
}

/** @param {Job[]} running */
function detailNodes(running) {
  const sel = /** @type {{resourceGroup: string, name: string}} */ (state.selected);
  const d = state.detail;
  const head = h(
    'div',
    { class: 'panel-head detail-head' },
    h('h2', { id: 'detail-title' }, d ? d.name : sel.name),
    h(
      'span',
      { class: 'muted' },
      d ? `${d.resourceGroup} · ${d.region} · ${d.size}` : `${sel.resourceGroup} · loading…`,
    ),
    h(
      'button',
      {
        type: 'button',
        class: 'button secondary small-button',
        'data-focus-key': 'detail-close',
        'aria-label': 'Close the VM detail',
        onclick: closeDetail,
      },
      'Close',
    ),
  );
  if (!d) {
    return [
      head,
      state.detailProblem
        ? h('div', { class: 'problem', role: 'alert' }, problemNodes(state.detailProblem))
        : h('p', { class: 'muted' }, 'Loading…'),
    ];
  }
  const item = d.protectedItem;
  const actions = allowedActions({
    region: d.region,
    sourceRegion: sourceRegion(),
    protectedItem: item,
    jobRunning: running.length > 0,
  });
  return [
    head,
    state.detailProblem
      ? h('div', { class: 'problem', role: 'alert' }, problemNodes(state.detailProblem))
      : null,
    h(
      'div',
      { class: 'actions', role: 'group', 'aria-label': 'Actions' },
      actions.map((id) => {
        const spec = /** @type {import('./lib/actions.js').ActionSpec} */ (actionById(id));
        return h(
          'button',
          {
            type: 'button',
            class: `button ${spec.destructive ? 'danger' : 'primary'}`,
            'data-action': id,
            'data-focus-key': `action:${id}`,
            onclick: () => void startAction(id),
          },
          spec.label,
        );
      }),
      actions.length === 0
        ? h(
            'span',
            { class: 'muted' },
            running.length > 0 || item?.activeJob
              ? `No actions while ${running.length > 0 ? jobName(running[0]) : (item.activeJob.kind ?? 'a job')} runs.`
              : 'No actions in this state.',
          )
        : null,
      running.map((j) =>
        h(
          'button',
          {
            type: 'button',
            class: 'button link',
            onclick: () => focusJob(j.id),
            'data-focus-key': `show:${j.id}`,
          },
          `Show job ${j.id}`,
        ),
      ),
    ),
    state.actionProblem
      ? h(
          'div',
          { class: 'problem', role: 'alert', id: 'action-problem', tabindex: '-1' },
          problemNodes(state.actionProblem),
        )
      : null,
    h(
      'div',
      { class: 'cards' },
      vmCard(d),
      item ? replicationCard(item) : null,
      item ? targetCard(item) : null,
      item && (item.failover || item.testFailover) ? failoverCard(item) : null,
      nbdCard(d),
    ),
    item ? pointsSection() : null,
  ];
}

/** @param {any} d */
function vmCard(d) {
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'card-vm' },
    h('h3', { id: 'card-vm' }, 'Virtual machine'),
    facts([
      [
        'Power state',
        h('span', { class: `power power-${String(d.powerState).toLowerCase()}` }, d.powerState),
      ],
      ['Region', d.region],
      ['Size', d.size],
      ['Availability set', d.availabilitySet ?? '—'],
      [
        'Network',
        (d.nics ?? []).length
          ? h(
              'ul',
              { class: 'plain' },
              d.nics.map((/** @type {any} */ n) =>
                h(
                  'li',
                  null,
                  `${n.privateIp} in ${n.vnet}/${n.subnet}${n.addressPrefix ? ` (${n.addressPrefix})` : ''}`,
                ),
              ),
            )
          : '—',
      ],
      [
        'Disks',
        h(
          'ul',
          { class: 'plain' },
          (d.disks ?? []).map((/** @type {any} */ disk) =>
            h('li', null, `${disk.name} · LUN ${disk.lun} · ${formatBytes(disk.sizeBytes)}`),
          ),
        ),
      ],
    ]),
  );
}

/** @param {any} item */
function replicationCard(item) {
  const stats = item.stats ?? {};
  const reasons = Array.isArray(item.healthReasons) ? item.healthReasons : [];
  const progress = state.selected
    ? initialReplicationProgress(state.jobs, state.selected.resourceGroup, state.selected.name)
    : undefined;
  const now = Date.now();
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'card-replication' },
    h('h3', { id: 'card-replication' }, 'Replication'),
    facts([
      ['State', h('span', { class: 'state', 'data-testid': 'protection-state' }, humanize(item.state))],
      [
        'Direction',
        item.direction
          ? `${humanize(item.direction)}${item.target?.region ? ` to ${item.target.region}` : ''}`
          : undefined,
      ],
      [
        'Health',
        [
          h(
            'span',
            { class: `badge health-${healthClass(item.health)}`, 'data-testid': 'health' },
            item.health,
          ),
          reasons.length
            ? h(
                'ul',
                { class: 'reasons' },
                reasons.map((/** @type {string} */ r) => h('li', null, r)),
              )
            : null,
        ],
      ],
      ['RPO', h('span', { class: `rpo rpo-${rpoLevel(item.rpoSeconds)}` }, formatRpo(item.rpoSeconds))],
      [
        'Initial replication',
        progress !== undefined
          ? h(
              'span',
              { class: 'inline-progress' },
              h('progress', { max: 100, value: progress, 'aria-label': 'Initial replication' }),
              `${Math.round(progress)}%`,
            )
          : undefined,
      ],
      [
        'Watermark',
        `sequence ${item.watermark ?? 0}${item.watermarkTime ? ` · source time ${formatTime(item.watermarkTime)}` : ''}`,
      ],
      [
        'Last applied',
        item.lastAppliedAt
          ? `${formatTime(item.lastAppliedAt)} (${formatAgo(item.lastAppliedAt, now)})`
          : '—',
      ],
      ['Last recovery point', item.lastRecoveryPointAt ? formatTime(item.lastRecoveryPointAt) : '—'],
      ['Generation', item.generation],
      ['Resync reason', item.resyncReason ?? undefined],
      [
        'Stats',
        item.stats
          ? `${stats.deltasApplied ?? 0} deltas, ${formatBytes(stats.bytesApplied ?? 0)} applied` +
            (stats.lagMs !== undefined ? ` · lag ${formatSeconds(stats.lagMs / 1000)}` : '') +
            (stats.churnBytesPerSecond !== undefined
              ? ` · churn ${formatBytes(stats.churnBytesPerSecond)}/s`
              : '')
          : '—',
      ],
    ]),
  );
}

/** @param {any} item */
function targetCard(item) {
  const t = item.target;
  const policy = item.policy ?? {};
  const retention = policy.retentionHours ?? 24;
  const frequency = policy.appConsistentFrequencyMinutes ?? 0;
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'card-target' },
    h('h3', { id: 'card-target' }, 'Target and policy'),
    facts([
      ['Target region', t?.region ?? targetRegion() ?? '—'],
      ['Resource group', t?.resourceGroup ?? '—'],
      ['Virtual network', t?.vnet ? `${t.vnet.resourceGroup}/${t.vnet.name}` : '—'],
      ['Availability set', t?.availabilitySet ?? '—'],
      ['Retention', `${retention} h`],
      ['App-consistent points', frequency > 0 ? `every ${formatSeconds(frequency * 60)}` : 'off'],
    ]),
  );
}

/**
 * A VM a workflow made, with a button that selects it when the list has it.
 * @param {any} ref
 */
function vmRefNode(ref) {
  if (!ref) return '—';
  const rg = ref.resourceGroup;
  const name = ref.name;
  const known = state.vms.some((vm) => vmKey(vm.resourceGroup, vm.name) === vmKey(rg, name));
  const text = `${ref.region ? `${ref.region}: ` : ''}${rg}/${name}`;
  return known
    ? h('button', { type: 'button', class: 'button link', onclick: () => selectVm(rg, name) }, text)
    : text;
}

/** @param {any} item */
function failoverCard(item) {
  // The VM detail's views (shared/fabric/vmViews.ts); the stored record's names are read as well.
  const f = item.failover;
  const t = item.testFailover;
  /** @param {any} vnet */
  const vnetText = (vnet) => (vnet ? `${vnet.resourceGroup}/${vnet.name}` : '—');
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'card-failover' },
    h('h3', { id: 'card-failover' }, 'Failover'),
    f
      ? facts([
          ['Failed-over VM', vmRefNode(f.targetVm ?? f.vm)],
          ['Recovery point', f.recoveryPointId ?? f.pointId ?? '—'],
          ['Asked for', f.choice ?? undefined],
          ['Consistent as of', formatTime(f.time ?? f.pointTime)],
          ['Started', formatTime(f.at)],
          ['Note', f.note ?? undefined],
        ])
      : null,
    t
      ? [
          h('h4', null, 'Test failover'),
          facts([
            ['Test VM', h('span', { 'data-testid': 'test-vm' }, vmRefNode(t.testVm ?? t.vm))],
            ['Recovery point', t.recoveryPointId ?? t.pointId ?? '—'],
            ['Asked for', t.choice ?? undefined],
            ['Network', vnetText(t.network ?? t.vnet)],
            ['Started', t.at ? formatTime(t.at) : undefined],
          ]),
        ]
      : null,
  );
}

/** @param {any} d */
function nbdCard(d) {
  const nbd = d.nbd;
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'card-nbd' },
    h('h3', { id: 'card-nbd' }, 'Disks over NBD'),
    nbd
      ? [
          h(
            'p',
            { class: 'muted small' },
            `The VM's mobility agent serves its disks at ${nbd.host}:${nbd.port}.`,
          ),
          h(
            'ul',
            { class: 'uris' },
            Object.entries(nbd.uris ?? {}).map(([exportName, uri]) =>
              h(
                'li',
                null,
                h('span', { class: 'export' }, exportName || '(default)'),
                h('code', null, uri),
                navigator.clipboard
                  ? h(
                      'button',
                      {
                        type: 'button',
                        class: 'button link small',
                        'aria-label': `Copy ${uri}`,
                        onclick: () =>
                          void navigator.clipboard.writeText(String(uri)).then(() => announce('Copied.')),
                      },
                      'Copy',
                    )
                  : null,
              ),
            ),
          ),
        ]
      : h(
          'p',
          { class: 'muted' },
          d.powerState === 'Running' ? 'Waiting for the VM’s agent…' : 'Only a running VM serves its disks.',
        ),
  );
}

function pointsSection() {
  const points = [...(state.points ?? [])].sort(
    (a, b) => (b.generation ?? 0) - (a.generation ?? 0) || (b.sequence ?? 0) - (a.sequence ?? 0),
  );
  return h(
    'section',
    { class: 'points', 'aria-labelledby': 'points-title' },
    h('h3', { id: 'points-title' }, `Recovery points${state.points ? ` (${points.length})` : ''}`),
    state.pointsProblem
      ? h('div', { class: 'problem' }, problemNodes(state.pointsProblem))
      : !state.points
        ? h('p', { class: 'muted' }, 'Loading…')
        : points.length === 0
          ? h('p', { class: 'muted' }, 'None yet: the first one is cut once replication is running.')
          : h(
              'div',
              { class: 'table-wrap points-wrap' },
              h(
                'table',
                { class: 'points-table' },
                h('caption', { class: 'visually-hidden' }, 'Recovery points, newest first'),
                h(
                  'thead',
                  null,
                  h(
                    'tr',
                    null,
                    h('th', { scope: 'col' }, 'Point'),
                    h('th', { scope: 'col' }, 'Source time'),
                    h('th', { scope: 'col' }, 'Cut at'),
                    h('th', { scope: 'col' }, 'Type'),
                  ),
                ),
                h(
                  'tbody',
                  null,
                  points.map((p) =>
                    h(
                      'tr',
                      null,
                      h('td', null, h('code', null, p.id)),
                      h('td', null, formatTime(p.time)),
                      h('td', null, formatTime(p.cutAt)),
                      h(
                        'td',
                        null,
                        p.type === 'AppConsistent'
                          ? h('span', { class: 'badge app' }, 'App-consistent')
                          : 'Crash-consistent',
                      ),
                    ),
                  ),
                ),
              ),
            ),
  );
}

/** @param {Job} job */
function jobName(job) {
  return `${humanize(job.kind ?? 'Job')} of ${vmLabel(job.vm)}`;
}

/** @param {string} id */
function focusJob(id) {
  state.openJobs.set(id, true);
  rendered.jobs = '';
  renderJobs();
  const summary = $focusable(`[data-focus-key="${CSS.escape(`job:${id}`)}"]`);
  if (summary) {
    summary.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
    summary.focus({ preventScroll: true });
  }
}

function renderJobs() {
  if (!state.jobsLoaded) return;
  const jobs = state.jobs.slice(0, MAX_JOBS_SHOWN);
  const now = Date.now();
  // Elapsed times of running jobs change every second; finished jobs stay as drawn.
  const clock = jobs.some((j) => j.state === 'InProgress') ? Math.floor(now / 1000) : 0;
  drawIfChanged('jobs', { jobs, open: [...state.openJobs], clock }, () => {
    $('jobs-empty').hidden = jobs.length > 0;
    const running = state.jobs.filter((j) => j.state === 'InProgress').length;
    $('jobs-count').textContent =
      `${state.jobs.length} job${state.jobs.length === 1 ? '' : 's'}` +
      (running ? `, ${running} running` : '') +
      (state.jobs.length > jobs.length ? ` (newest ${jobs.length} shown)` : '');
    replaceKeepingFocus(
      $('job-list'),
      jobs.map((j) => jobCard(j, now)),
    );
  });
}

/**
 * @param {Job} job
 * @param {number} now
 */
function jobCard(job, now) {
  const open = state.openJobs.get(job.id) ?? job.state === 'InProgress';
  const details = h(
    'details',
    { open },
    h(
      'summary',
      {
        'data-focus-key': `job:${job.id}`,
        onclick: () => state.openJobs.set(job.id, !details.open),
      },
      h('span', { class: 'job-title' }, humanize(job.kind ?? 'Job')),
      h('span', { class: 'job-vm' }, vmLabel(job.vm)),
      h('span', { class: `badge job-state state-${job.state.toLowerCase()}` }, humanize(job.state)),
      h(
        'span',
        { class: 'job-time muted small' },
        `${formatTime(job.startedAt)} · ${formatElapsed(job.startedAt, job.state === 'InProgress' ? null : job.endedAt, now)}`,
      ),
    ),
    h(
      'ol',
      { class: 'steps' },
      job.steps.map((step) =>
        h(
          'li',
          { class: `step step-${step.state.toLowerCase()}`, 'data-step': step.name },
          h('span', { class: 'step-icon', 'aria-hidden': 'true' }, stepIcon(step.state)),
          h(
            'div',
            { class: 'step-body' },
            h(
              'div',
              { class: 'step-line' },
              h('span', { class: 'step-name' }, step.name),
              h('span', { class: 'step-state' }, humanize(step.state)),
            ),
            step.startedAt
              ? h(
                  'div',
                  { class: 'muted small' },
                  `${formatTime(step.startedAt).slice(11)}${step.endedAt ? ` → ${formatTime(step.endedAt).slice(11)}` : ''} · ${formatElapsed(step.startedAt, step.endedAt, now)}`,
                )
              : null,
            typeof step.progress === 'number' && (step.state === 'InProgress' || step.progress < 100)
              ? h(
                  'div',
                  { class: 'inline-progress' },
                  h('progress', { max: 100, value: step.progress, 'aria-label': `${step.name} progress` }),
                  h('span', { class: 'small' }, `${Math.round(step.progress)}%`),
                )
              : null,
            step.warning
              ? h('p', { class: 'step-warning' }, h('strong', null, 'Warning: '), step.warning)
              : null,
            step.error ? h('p', { class: 'step-error' }, h('strong', null, 'Error: '), step.error) : null,
          ),
        ),
      ),
    ),
    job.error ? h('p', { class: 'job-error' }, job.error) : null,
    job.state === 'Succeeded' && job.result ? resultNode(job.result) : null,
    h('p', { class: 'muted small job-id' }, 'Job ', h('code', null, job.id)),
  );
  return h('li', { class: `job job-${job.state.toLowerCase()}`, 'data-job-id': job.id }, details);
}

/**
 * What a job made, when it names a VM: a button to select that VM.
 * @param {unknown} result
 */
function resultNode(result) {
  if (!result || typeof result !== 'object') return null;
  const r = /** @type {Record<string, any>} */ (result);
  const vm = r.testVm ?? r.vm ?? r.targetVm;
  if (!vm || typeof vm !== 'object' || !vm.resourceGroup || !vm.name) return null;
  return h('p', { class: 'small' }, 'Made ', vmRefNode(vm));
}

/** @param {string} stepState */
function stepIcon(stepState) {
  switch (stepState) {
    case 'Succeeded':
      return '✓';
    case 'Failed':
      return '✕';
    case 'InProgress':
      return '◐';
    case 'Skipped':
      return '↷';
    default:
      return '○';
  }
}

// ------------------------------------------------------------------------------------------ actions

/** @param {import('./lib/actions.js').ActionId} id */
async function startAction(id) {
  const d = state.detail;
  if (!d) return;
  state.actionProblem = null;
  const spec = /** @type {import('./lib/actions.js').ActionSpec} */ (actionById(id));
  if (id === 'enable') return openEnableDialog(d);
  if (id === 'failover' || id === 'testFailover') return openPointDialog(id, d);
  const ok = await confirm(confirmationFor(id, { vm: vmLabel(d), targetRegion: targetRegion() }));
  if (!ok) return;
  try {
    await post(spec, d, undefined);
  } catch (err) {
    state.actionProblem = toProblem(err);
    render();
    document.getElementById('action-problem')?.focus();
  }
}

/**
 * Starts the action's job and shows it.
 * @param {import('./lib/actions.js').ActionSpec} spec
 * @param {any} d
 * @param {unknown} body
 */
async function post(spec, d, body) {
  const answer = await call('POST', vmRoute(d, spec.route), body);
  const job = answer?.job;
  if (job?.id) {
    state.openJobs.set(job.id, true);
    if (!state.jobsById.has(job.id)) {
      state.jobs = [job, ...state.jobs];
      state.jobsById.set(job.id, job);
    }
    announce(`${spec.label} of ${vmLabel(d)} started (job ${job.id}).`);
  }
  state.actionProblem = null;
  render();
  void refresh({ points: true });
}

/**
 * The confirmation dialog; resolves true when confirmed.
 * @param {{title: string, message: string, confirmLabel: string, danger: boolean}} text
 * @returns {Promise<boolean>}
 */
function confirm(text) {
  const dialog = $('confirm-dialog');
  $('confirm-title').textContent = text.title;
  $('confirm-message').textContent = text.message;
  const ok = $('confirm-ok');
  ok.textContent = text.confirmLabel;
  ok.className = `button ${text.danger ? 'danger' : 'primary'}`;
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'confirm'), { once: true });
    dialog.showModal();
    // A destructive action is one deliberate step away: focus starts on Cancel.
    (text.danger ? $('confirm-cancel') : ok).focus();
  });
}

/**
 * Fills the action dialog with a form and handles its submit.
 * @param {string} title
 * @param {any[]} fields
 * @param {{label: string, destructive?: boolean}} submitButton
 * @param {(form: any) => Promise<void>} onSubmit Throws a FormError or ApiError to show in the dialog.
 */
function openFormDialog(title, fields, submitButton, onSubmit) {
  const dialog = $('action-dialog');
  const form = $('action-form');
  const problem = h('div', { class: 'problem', role: 'alert', id: 'form-problem', hidden: true });
  const submit = h(
    'button',
    { type: 'submit', class: `button ${submitButton.destructive ? 'danger' : 'primary'}` },
    submitButton.label,
  );
  setChildren(
    form,
    h('h2', { id: 'action-title' }, title),
    fields,
    problem,
    h(
      'div',
      { class: 'dialog-buttons' },
      h('button', { type: 'button', class: 'button secondary', onclick: () => dialog.close() }, 'Cancel'),
      submit,
    ),
  );
  form.onsubmit = async (/** @type {SubmitEvent} */ event) => {
    event.preventDefault();
    submit.disabled = true;
    problem.hidden = true;
    try {
      await onSubmit(form);
      dialog.close();
    } catch (err) {
      if (err === CANCELLED) return;
      setChildren(problem, problemNodes(toProblem(err)));
      problem.hidden = false;
    } finally {
      submit.disabled = false;
    }
  };
  dialog.showModal();
  const first = form.querySelector('input:not([type=hidden]), select');
  if (first) first.focus();
}

/** Thrown by a form submit that the user cancelled in its confirmation. */
const CANCELLED = Symbol('cancelled');

/**
 * A labelled input.
 * @param {string} id
 * @param {string} label
 * @param {Record<string, any>} attrs
 * @param {string} [help]
 */
function field(id, label, attrs, help) {
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label),
    h('input', { id, name: id, 'aria-describedby': help ? `${id}-help` : null, ...attrs }),
    help ? h('p', { class: 'help', id: `${id}-help` }, help) : null,
  );
}

/** @param {any} d */
function openEnableDialog(d) {
  const vnet = d.nics?.[0]?.vnet;
  const spec = /** @type {import('./lib/actions.js').ActionSpec} */ (actionById('enable'));
  openFormDialog(
    `Enable replication of ${d.name}`,
    [
      h(
        'p',
        { class: 'muted' },
        `Replicates ${vmLabel(d)} from ${d.region} to ${targetRegion() ?? 'the target region'}. Leave a field blank for the default.`,
      ),
      h(
        'fieldset',
        null,
        h('legend', null, 'Target'),
        field('targetResourceGroup', 'Target resource group', {
          type: 'text',
          placeholder: `${d.resourceGroup}-asr`,
        }),
        field('targetVnet', 'Target virtual network', {
          type: 'text',
          placeholder: vnet ? `${vnet}-asr` : 'mapped from the source VNet',
        }),
        field(
          'targetAvailabilitySet',
          'Target availability set',
          { type: 'text', placeholder: d.availabilitySet ? `${d.availabilitySet}-asr` : 'none' },
          d.availabilitySet ? undefined : 'The VM is in no availability set.',
        ),
      ),
      h(
        'fieldset',
        null,
        h('legend', null, 'Replication policy'),
        field(
          'retentionHours',
          'Recovery point retention (hours)',
          { type: 'number', min: 0, max: 360, step: 1, placeholder: '24', inputmode: 'numeric' },
          '0 keeps only the latest point; at most 360 (15 days).',
        ),
        h(
          'div',
          { class: 'field' },
          h('label', { for: 'appConsistentFrequencyMinutes' }, 'App-consistent snapshot frequency'),
          h(
            'select',
            { id: 'appConsistentFrequencyMinutes', name: 'appConsistentFrequencyMinutes' },
            h('option', { value: '' }, 'Off (default)'),
            [60, 120, 240, 360, 720].map((m) =>
              h('option', { value: m }, `Every ${m / 60} hour${m === 60 ? '' : 's'}`),
            ),
          ),
        ),
      ),
    ],
    spec,
    async (form) => {
      const body = enableBody({
        targetResourceGroup: form.elements.targetResourceGroup.value,
        targetVnet: form.elements.targetVnet.value,
        targetAvailabilitySet: form.elements.targetAvailabilitySet.value,
        retentionHours: form.elements.retentionHours.value,
        appConsistentFrequencyMinutes: form.elements.appConsistentFrequencyMinutes.value,
      });
      await post(spec, d, body);
    },
  );
}

/**
 * The failover and test failover forms: a recovery-point picker, and the shut-down checkbox or the
 * test network.
 * @param {'failover' | 'testFailover'} id
 * @param {any} d
 */
function openPointDialog(id, d) {
  const spec = /** @type {import('./lib/actions.js').ActionSpec} */ (actionById(id));
  const isFailover = id === 'failover';
  const points = [...(state.points ?? [])].sort(
    (a, b) => (b.generation ?? 0) - (a.generation ?? 0) || (b.sequence ?? 0) - (a.sequence ?? 0),
  );
  const defaultMode = isFailover ? 'latest' : 'latestProcessed';
  const oldest = points.length ? points[points.length - 1].time : undefined;
  /** @param {string} mode */
  const radio = (mode) =>
    h(
      'div',
      { class: 'choice' },
      h('input', {
        type: 'radio',
        name: 'mode',
        id: `mode-${mode}`,
        value: mode,
        checked: mode === defaultMode,
      }),
      h('label', { for: `mode-${mode}` }, /** @type {Record<string, string>} */ (CHOICE_LABELS)[mode]),
    );
  /** @param {string} mode */
  const pick = (mode) => () => {
    const r = /** @type {any} */ (document.getElementById(`mode-${mode}`));
    if (r) r.checked = true;
  };
  const item = d.protectedItem ?? {};
  openFormDialog(
    `${spec.label}: ${d.name}`,
    [
      h(
        'p',
        { class: 'muted' },
        isFailover
          ? `Starts ${d.name} in ${item.target?.region ?? targetRegion() ?? 'the target region'} from a recovery point.`
          : `Starts a copy of ${d.name} (${d.name}-test) in an isolated network, while replication goes on.`,
      ),
      h(
        'fieldset',
        null,
        h('legend', null, 'Recovery point'),
        radio('latest'),
        radio('latestProcessed'),
        radio('latestAppConsistent'),
        radio('point'),
        h(
          'div',
          { class: 'field nested' },
          h('label', { for: 'pointId', class: 'visually-hidden' }, 'Recovery point'),
          h(
            'select',
            {
              id: 'pointId',
              name: 'pointId',
              onchange: pick('point'),
              onfocus: pick('point'),
              disabled: points.length === 0,
            },
            points.length === 0
              ? h('option', { value: '' }, 'No recovery points yet')
              : points.map((p) =>
                  h(
                    'option',
                    { value: p.id },
                    `${p.id} · ${formatTime(p.time)}${p.type === 'AppConsistent' ? ' · app-consistent' : ''}`,
                  ),
                ),
          ),
        ),
        radio('time'),
        h(
          'div',
          { class: 'field nested' },
          h('label', { for: 'pointTime', class: 'visually-hidden' }, 'Point in time (your local time)'),
          h('input', {
            type: 'datetime-local',
            id: 'pointTime',
            name: 'pointTime',
            step: 1,
            min: oldest ? isoToLocalInput(oldest) : null,
            max: isoToLocalInput(new Date()),
            value: isoToLocalInput(new Date(Date.now() - 60_000)),
            oninput: pick('time'),
            onfocus: pick('time'),
            'aria-describedby': 'pointTime-help',
          }),
          h(
            'p',
            { class: 'help', id: 'pointTime-help' },
            'Your local time. The point before it is used, with the journal replayed up to it.',
          ),
        ),
      ),
      isFailover
        ? h(
            'div',
            { class: 'field check' },
            h('input', { type: 'checkbox', id: 'shutdownSource', name: 'shutdownSource', checked: true }),
            h(
              'label',
              { for: 'shutdownSource' },
              'Shut down the source VM before failover (when it is reachable)',
            ),
          )
        : field(
            'network',
            'Test network (optional)',
            {
              type: 'text',
              placeholder: item.target?.vnet?.name ? `${item.target.vnet.name}-test` : 'created for the test',
            },
            `A VNet in ${item.target?.resourceGroup ?? 'the target resource group'}. Blank: an isolated one is created, and cleanup deletes it.`,
          ),
    ],
    spec,
    async (form) => {
      const values = {
        mode: form.elements.mode.value,
        pointId: form.elements.pointId.value,
        time: form.elements.pointTime.value,
      };
      const body = isFailover
        ? failoverBody({ ...values, shutdownSource: form.elements.shutdownSource.checked })
        : testFailoverBody({ ...values, network: form.elements.network.value });
      if (isFailover) {
        const ok = await confirm(
          confirmationFor('failover', {
            vm: vmLabel(d),
            targetRegion: item.target?.region ?? targetRegion(),
            point: describeChoice(body.recoveryPoint),
          }),
        );
        if (!ok) throw CANCELLED;
      }
      await post(spec, d, body);
    },
  );
}

// --------------------------------------------------------------------------------------------- start

function selectionFromHash() {
  const m = /^#vm=([^/]+)\/(.+)$/.exec(location.hash);
  if (!m) return null;
  try {
    return { resourceGroup: decodeURIComponent(m[1]), name: decodeURIComponent(m[2]) };
  } catch {
    return null;
  }
}

function start() {
  setUpKeyDialog();
  $('refresh').addEventListener('click', () => void refresh({ points: true }));
  state.selected = selectionFromHash();
  void refreshHealth();
  setInterval(() => void refreshHealth(), HEALTH_POLL_MS);
  setInterval(() => {
    if (!document.hidden && !$('key-dialog').open) void refresh();
  }, POLL_MS);
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) void refresh();
  });
  if (getKey()) void refresh({ points: true });
  else askForKey();
}

start();
