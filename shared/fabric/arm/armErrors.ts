/**
 * ARM's errors in tidemark's taxonomy (shared/errors.ts). ARM answers `{"error": {"code", "message"}}`
 * (a few providers leave out the `error` wrapper):
 *
 *   404                        NotFound (a `get` answers undefined instead, a `delete` false)
 *   409, 412                   Conflict (412: the ETag is stale; retryable)
 *   400 PrivateIPAddressInUse  Conflict, and the other "in use" codes below
 *   400                        InvalidArgument with ARM's message
 *   401, 403                   Internal (a system error) naming the role the identity lacks
 *   429, 5xx after retries     StorageUnavailable (retryable): the fabric's backing service is down
 *
 * A long-running operation that ends Failed or Canceled is mapped by its error code the same way.
 */
import { type ErrorCode, TidemarkError } from '../../errors';

export interface ArmErrorBody {
  code?: string;
  message?: string;
}

/** ARM error codes that mean "the fabric cannot make this change now", whatever the status. */
const CONFLICT_CODES = new Set(
  [
    'Conflict',
    'PrivateIPAddressInUse',
    'InUseSubnetCannotBeDeleted',
    'InUseNetworkInterfaceCannotBeDeleted',
    'SubnetIsFull',
    'OperationNotAllowed',
    'PropertyChangeNotAllowed',
    'ResourceGroupBeingDeleted',
    'InvalidResourceGroupLocation',
    'LocationNotAvailableForResourceGroup',
    'AnotherOperationInProgress',
    'RetryableError',
    'PreconditionFailed',
    'OperationPreempted',
  ].map((c) => c.toLowerCase()),
);

/** Conflicts that go away by themselves: another operation on the resource was running. */
const TRANSIENT_CONFLICTS = new Set(
  ['AnotherOperationInProgress', 'RetryableError', 'OperationPreempted', 'PreconditionFailed'].map((c) =>
    c.toLowerCase(),
  ),
);

const INVALID_CODES = new Set(
  ['BadRequest', 'InvalidParameter', 'InvalidRequestContent', 'InvalidRequestFormat', 'InvalidTemplate'].map(
    (c) => c.toLowerCase(),
  ),
);

/** The error in an ARM answer's body, wrapped (`{error: {…}}`) or not. */
export function parseArmError(text: string | undefined): ArmErrorBody {
  if (!text) return {};
  try {
    const body = JSON.parse(text) as { error?: ArmErrorBody } & ArmErrorBody;
    const e = body.error ?? body;
    return {
      ...(typeof e.code === 'string' ? { code: e.code } : {}),
      ...(typeof e.message === 'string' ? { message: e.message } : {}),
    };
  } catch {
    return { message: text.slice(0, 500) };
  }
}

/** The Azure built-in role that allows `method` on the resource `path` names. */
export function roleFor(method: string, path: string): string {
  const lower = path.toLowerCase();
  if (method === 'GET') return 'Reader';
  const provider = /\/providers\/([^/]+\/[^/]+)/.exec(lower)?.[1];
  if (!provider) return 'Contributor (resource groups are created and deleted at subscription scope)';
  if (provider.startsWith('microsoft.network/')) return 'Network Contributor';
  if (provider === 'microsoft.compute/snapshots' || /\/(begin|end)getaccess$/.test(lower)) {
    return 'Disk Snapshot Contributor (snapshots, and beginGetAccess/endGetAccess on disks and snapshots)';
  }
  if (provider === 'microsoft.compute/disks') {
    return 'Virtual Machine Contributor (and, to import a blob, a role with Microsoft.Storage/storageAccounts/listKeys/action on its storage account)';
  }
  if (provider.startsWith('microsoft.compute/')) return 'Virtual Machine Contributor';
  return 'Contributor';
}

export interface ArmFailure {
  status?: number;
  body: ArmErrorBody;
  method: string;
  /** The request's path (no query), for messages and the role hint. */
  path: string;
}

function describe(f: ArmFailure): string {
  const what = f.body.code ? `${f.body.code}: ${f.body.message ?? '(no message)'}` : (f.body.message ?? '');
  const head =
    f.status === undefined
      ? `The Azure Resource Manager operation ${f.method} ${f.path} failed`
      : `Azure Resource Manager answered ${f.status} to ${f.method} ${f.path}`;
  return `${head}${what ? ` (${what})` : ''}`;
}

/** The TidemarkError for a failed ARM request (or a failed long-running operation: no status). */
export function armError(f: ArmFailure, cause?: unknown): TidemarkError {
  const code = f.body.code?.toLowerCase() ?? '';
  const details = { status: f.status, armCode: f.body.code, method: f.method, path: f.path };
  const make = (tm: ErrorCode, message: string, extra: { hint?: string; retryable?: boolean } = {}) =>
    new TidemarkError(tm, message, { cause, details, ...extra });
  const armMessage = f.body.message ?? describe(f);

  if (f.status === 401 || f.status === 403) {
    const role = roleFor(f.method, f.path);
    return make('Internal', `${describe(f)}. tidemark's identity is not allowed to do this.`, {
      hint: `Give tidemark's managed identity the ${role} role on the resource's scope (docs/arm-fabric.md).`,
      retryable: false,
    });
  }
  if (f.status === 412 || code === 'preconditionfailed') {
    return make('Conflict', `${armMessage} The resource changed meanwhile.`, {
      hint: 'Read it again and retry.',
      retryable: true,
    });
  }
  if (f.status === 409 || CONFLICT_CODES.has(code)) {
    return make('Conflict', armMessage, { retryable: TRANSIENT_CONFLICTS.has(code) });
  }
  if (f.status === 404) return make('NotFound', armMessage);
  if (f.status === 400 || (f.status === undefined && INVALID_CODES.has(code))) {
    return make('InvalidArgument', armMessage);
  }
  if (f.status === 429 || (f.status !== undefined && f.status >= 500)) {
    return make('StorageUnavailable', `${describe(f)}; gave up after retrying.`, { retryable: true });
  }
  return make('Internal', describe(f));
}
