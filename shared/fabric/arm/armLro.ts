/**
 * ARM's long-running operations, awaited (Azure Resource Manager RPC, "Asynchronous operations"):
 *
 *   Azure-AsyncOperation: poll that URL until its `status` is Succeeded, Failed or Canceled; then a PUT
 *                         reads the resource again (its final state is at the original URL). A POST's
 *                         result is the status's `properties.output` when it has one (the Compute
 *                         provider's, e.g. beginGetAccess's `{accessSAS}`); without one, and when the
 *                         caller says the result is at `Location` (ARM's `final-state-via: location`),
 *                         that URL is read for it.
 *   Location (only):      poll that URL while it answers 202; 200/204 is the end (a POST's result).
 *   neither, after a PUT: poll the resource until its `provisioningState` is terminal.
 *
 * Every wait is `Retry-After` from the last answer, else the client's poll interval, on the client's
 * Clock; past `maxWaitMs` the operation is a Timeout (it may still finish in Azure).
 */
import { TidemarkError } from '../../errors';
import type { ArmClient, ArmRequest, ArmResponse } from './armClient';
import { armError, type ArmErrorBody } from './armErrors';
import { retryAfterMs } from './armRetry';

const TERMINAL = new Set(['succeeded', 'failed', 'canceled', 'cancelled']);

interface OperationStatus {
  status?: string;
  error?: ArmErrorBody;
  properties?: { output?: unknown };
}

export interface OperationOptions {
  /**
   * Where a POST's result is once its Azure-AsyncOperation succeeded, when the status carries no
   * `properties.output`: `location` reads the `Location` URL of the first answer (when it had one).
   * Without it the result is the status body.
   */
  finalStateVia?: 'location';
}

function header(response: ArmResponse, name: string): string | undefined {
  return response.headers.get(name) ?? undefined;
}

function provisioningState(body: unknown): string | undefined {
  const state = (body as { properties?: { provisioningState?: unknown } } | undefined)?.properties
    ?.provisioningState;
  return typeof state === 'string' ? state : undefined;
}

/** The result of the operation `req` began with `initial` (a 2xx): for a PUT, the resource. */
export async function awaitOperation(
  client: ArmClient,
  req: ArmRequest,
  initial: ArmResponse,
  options: OperationOptions = {},
): Promise<unknown> {
  const asyncUrl = header(initial, 'azure-asyncoperation');
  const location = header(initial, 'location');
  const started = client.clock.now();
  const path = req.path.split('?')[0]!;
  let last = initial;

  const wait = async (): Promise<void> => {
    const after = retryAfterMs(last, client.clock.now()) ?? client.pollIntervalMs;
    if (client.clock.now() + after - started > client.maxWaitMs) {
      throw new TidemarkError(
        'Timeout',
        `${req.method} ${path} did not finish within ${Math.round(client.maxWaitMs / 1000)} s; it may still finish in Azure.`,
        { details: { method: req.method, path, operation: asyncUrl ?? location } },
      );
    }
    client.logger.debug('Waiting for an ARM operation', { method: req.method, path, delayMs: after });
    await client.clock.sleep(after);
  };
  const failed = (status: string, error: ArmErrorBody | undefined): TidemarkError =>
    armError({
      body: { code: error?.code ?? status, message: error?.message ?? `The operation ended ${status}.` },
      method: req.method,
      path,
    });

  /** GETs `url` while it answers 202; the first other answer is the result (an error is mapped). */
  const pollLocation = async (url: string, waitFirst: boolean): Promise<unknown> => {
    for (let first = true; ; first = false) {
      if (waitFirst || !first) await wait();
      const pollReq: ArmRequest = { method: 'GET', path: url };
      const response = await client.send(pollReq);
      if (response.status === 202) {
        last = response;
        continue;
      }
      return client.check({ ...pollReq, method: req.method, path: req.path }, response).body;
    }
  };

  if (asyncUrl) {
    for (;;) {
      await wait();
      const pollReq: ArmRequest = { method: 'GET', path: asyncUrl };
      last = client.check(pollReq, await client.send(pollReq));
      const op = (last.body ?? {}) as OperationStatus;
      const status = (op.status ?? '').toLowerCase();
      if (status === 'succeeded') break;
      if (TERMINAL.has(status)) throw failed(op.status!, op.error);
    }
    if (req.method !== 'PUT') {
      const output = (last.body as OperationStatus | undefined)?.properties?.output;
      if (output !== undefined) return output;
      if (options.finalStateVia === 'location' && location) return pollLocation(location, false);
      return last.body;
    }
  } else if (location && initial.status === 202) {
    return pollLocation(location, true);
  } else if (req.method === 'PUT') {
    let state = provisioningState(initial.body);
    while (state !== undefined && !TERMINAL.has(state.toLowerCase())) {
      await wait();
      const resource = await client.get<unknown>(req.path, req.apiVersion!, req.query);
      if (resource === undefined) {
        throw new TidemarkError('Conflict', `${path} was deleted while it was being written.`, {
          retryable: true,
        });
      }
      state = provisioningState(resource);
      last = { ...last, body: resource };
    }
    if (state !== undefined && state.toLowerCase() !== 'succeeded') throw failed(state, undefined);
    return last.body;
  } else {
    return initial.body;
  }

  const resource = await client.get<unknown>(req.path, req.apiVersion!, req.query);
  if (resource === undefined) {
    throw new TidemarkError('Conflict', `${path} was deleted right after it was written.`, {
      retryable: true,
    });
  }
  return resource;
}
