/**
 * The `durableClient` (alias `orchestrationClient`) input binding: the OrchestrationClientInputData
 * JSON the SDK's getClient reads (§1.6). Every client call goes to rpcBaseUrl; the creation and
 * management URLs point at the public webhooks.
 *
 * getClient rewrites those URLs to http://localhost:7071 unless process.env.WEBSITE_HOSTNAME is set,
 * and it reads the variable when the function runs. So, unless the environment already names a host,
 * the binding sets WEBSITE_HOSTNAME to this host's address just before each invocation (and keeps
 * setting it while it owns it; with several hosts in one process, the last one invoked wins).
 */
import type { BindingProvider } from '../plugin';
import {
  creationUrls,
  INSTANCE_PLACEHOLDER,
  type LinkContext,
  managementPayload,
  WEBHOOK_PATH,
} from './managementLinks';
import { RPC_PATH } from './routes';

/** Every value this module put in process.env.WEBSITE_HOSTNAME (hosts snapshot the environment). */
const ownedHostnames = new Set<string>();

/** A WEBSITE_HOSTNAME setting, unless it is one this module put in the environment itself. */
export function configuredHostname(value: string | undefined): string | undefined {
  return value && !ownedHostnames.has(value) ? value : undefined;
}

function claimWebsiteHostname(hostname: string): void {
  const current = process.env.WEBSITE_HOSTNAME;
  if (current && !current.includes('0.0.0.0') && !ownedHostnames.has(current)) return;
  process.env.WEBSITE_HOSTNAME = hostname;
  ownedHostnames.add(hostname);
}

export function clientBindingData(links: LinkContext, rpcOrigin: string): Record<string, unknown> {
  const managementUrls: Record<string, string> = { ...managementPayload(links, INSTANCE_PLACEHOLDER, false) };
  return {
    taskHubName: links.hubName,
    connectionName: links.connectionName,
    creationUrls: creationUrls(links),
    managementUrls,
    baseUrl: `${links.origin}${WEBHOOK_PATH}`,
    requiredQueryStringParameters: `code=${encodeURIComponent(links.systemKey)}`,
    rpcBaseUrl: `${rpcOrigin}${RPC_PATH}`,
  };
}

export function durableClientBinding(
  links: () => LinkContext,
  rpcOrigin: () => string,
  hostname: () => string,
): BindingProvider {
  return {
    resolveInput: async () => {
      claimWebsiteHostname(hostname());
      return { string: JSON.stringify(clientBindingData(links(), rpcOrigin())) };
    },
  };
}
