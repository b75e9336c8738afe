/**
 * The managed identity token endpoint of App Service and Azure Functions, as the fake Resource Manager
 * serves it at `/msi/token`: what @azure/identity's ManagedIdentityCredential (through MSAL's App
 * Service source) calls when `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` are set:
 *
 *   GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource={resource}[&client_id={id}]
 *   X-IDENTITY-HEADER: {IDENTITY_HEADER}
 *
 * → 200 `{access_token, expires_on (epoch seconds, a string), resource, token_type: "Bearer", client_id}`.
 * Without the header it answers 400, with a wrong one 401, in App Service's error shape
 * `{statusCode, message, correlationId}`.
 */
import { randomUUID } from 'node:crypto';

import type { FakeResponse, RecordedRequest } from './common';

export const MSI_TOKEN_PATH = '/msi/token';
export const APP_SERVICE_MSI_API_VERSION = '2019-08-01';

export interface FakeIdentity {
  /** The token the endpoint issues. */
  token: string;
  /** What `X-IDENTITY-HEADER` must be (the app's `IDENTITY_HEADER`). */
  identityHeader: string;
  /** The client id of the system-assigned identity (answered when the request names none). */
  clientId: string;
}

function refused(status: number, message: string): FakeResponse {
  return { status, body: { statusCode: status, message, correlationId: randomUUID() } };
}

export function msiToken(
  r: RecordedRequest,
  identityHeader: string | undefined,
  identity: FakeIdentity,
): FakeResponse {
  if (r.method !== 'GET') return refused(405, `The method ${r.method} is not allowed.`);
  if (identityHeader === undefined) return refused(400, 'The X-IDENTITY-HEADER header is missing.');
  if (identityHeader !== identity.identityHeader)
    return refused(401, 'The X-IDENTITY-HEADER header is not valid.');
  if (r.query['api-version'] !== APP_SERVICE_MSI_API_VERSION) {
    return refused(400, `The api-version '${r.query['api-version'] ?? ''}' is not supported.`);
  }
  const resource = r.query.resource;
  if (!resource) return refused(400, 'The resource parameter is missing.');
  return {
    status: 200,
    body: {
      access_token: identity.token,
      expires_on: String(Math.floor(Date.now() / 1000) + 3600),
      resource,
      token_type: 'Bearer',
      client_id: r.query.client_id ?? identity.clientId,
    },
  };
}
