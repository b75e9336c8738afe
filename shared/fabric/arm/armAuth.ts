/**
 * Signing in to Azure Resource Manager. The credential is the function app's user-assigned managed
 * identity when `AZURE_CLIENT_ID` is set, else DefaultAzureCredential (a system-assigned identity, the
 * Azure CLI's sign-in on a developer's machine, …); tests inject a static one. The token goes only to
 * the configured endpoint's origin, and only over HTTPS, except to 127.0.0.1 (a test server).
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';

import type { Clock } from '../../clock';
import type { FabricConfig } from '../../config';
import { TidemarkError } from '../../errors';

/** Renew a token this long before it expires. */
const REFRESH_MARGIN_MS = 5 * 60_000;

/**
 * The function app's identity: its user-assigned managed identity when `clientId` is set, else
 * DefaultAzureCredential. @azure/identity is loaded on the first token, so the local fabric (and every
 * function that never signs in to ARM) does not pay for loading it.
 */
class AppCredential implements TokenCredential {
  #credential?: Promise<TokenCredential>;

  constructor(private readonly clientId: string | undefined) {}

  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
    this.#credential ??= import('@azure/identity').then((identity) =>
      this.clientId
        ? new identity.ManagedIdentityCredential({ clientId: this.clientId })
        : new identity.DefaultAzureCredential(),
    );
    return (await this.#credential).getToken(scopes, options);
  }
}

export function armCredential(config: Pick<FabricConfig, 'managedIdentityClientId'>): TokenCredential {
  return new AppCredential(config.managedIdentityClientId);
}

/** The endpoint as a URL: HTTPS anywhere, or plain HTTP to 127.0.0.1 only. InvalidConfig otherwise. */
export function checkArmEndpoint(endpoint: string): URL {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new TidemarkError(
      'InvalidConfig',
      `TIDEMARK_ARM_ENDPOINT ${JSON.stringify(endpoint)} is not a URL.`,
    );
  }
  const loopback = url.protocol === 'http:' && url.hostname === '127.0.0.1';
  if (url.protocol !== 'https:' && !loopback) {
    throw new TidemarkError(
      'InvalidConfig',
      `TIDEMARK_ARM_ENDPOINT ${endpoint} is not HTTPS; tokens are sent over plain HTTP only to 127.0.0.1.`,
      { hint: 'Use https://management.azure.com (or your cloud’s Resource Manager endpoint).' },
    );
  }
  if (url.pathname !== '/' || url.search || url.hash) {
    throw new TidemarkError(
      'InvalidConfig',
      `TIDEMARK_ARM_ENDPOINT ${endpoint} must be an origin, without a path.`,
    );
  }
  return url;
}

/** The token scope of an endpoint: `{origin}/.default` (a loopback test server gets Azure's). */
export function armScope(endpoint: URL): string {
  return endpoint.protocol === 'https:'
    ? `${endpoint.origin}/.default`
    : 'https://management.azure.com/.default';
}

function credentialError(err: unknown): TidemarkError {
  const name = (err as Error | undefined)?.name;
  const message = (err as Error | undefined)?.message ?? String(err);
  if (name === 'CredentialUnavailableError') {
    return new TidemarkError(
      'InvalidConfig',
      `No Azure credential to sign in to Resource Manager with: ${message}`,
      {
        cause: err,
        hint: 'Give the function app a managed identity (set AZURE_CLIENT_ID for a user-assigned one).',
      },
    );
  }
  return new TidemarkError('Internal', `Signing in to Azure Resource Manager failed: ${message}`, {
    cause: err,
    retryable: true,
  });
}

/** Adds `Authorization: Bearer …` to requests for `endpoint`'s origin; refuses any other origin. */
export function armAuthPolicy(credential: TokenCredential, endpoint: URL, clock: Clock): PipelinePolicy {
  const scope = armScope(endpoint);
  let cached: AccessToken | undefined;
  let pending: Promise<AccessToken> | undefined;

  const fresh = (token: AccessToken): boolean => {
    const renewAt = token.refreshAfterTimestamp ?? token.expiresOnTimestamp - REFRESH_MARGIN_MS;
    return clock.now() < renewAt;
  };
  const token = async (): Promise<AccessToken> => {
    if (cached && fresh(cached)) return cached;
    pending ??= credential
      .getToken(scope)
      .then((t) => {
        if (!t) throw new Error(`the credential returned no token for ${scope}`);
        cached = t;
        return t;
      })
      .catch((err: unknown) => {
        throw credentialError(err);
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };

  return {
    name: 'tidemarkArmAuth',
    async sendRequest(request, next) {
      const url = new URL(request.url);
      if (url.origin !== endpoint.origin) {
        throw new TidemarkError(
          'Internal',
          `Refusing to send an ARM token to ${url.origin}; only ${endpoint.origin} gets it.`,
          { details: { url: request.url.split('?')[0] } },
        );
      }
      request.headers.set('Authorization', `Bearer ${(await token()).token}`);
      return next(request);
    },
  };
}
