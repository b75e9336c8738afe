/**
 * tidemark's app settings as the app uses them. In Azure they are the function app's settings;
 * locally they come from local.settings.json through the local host. Every setting is declared, and
 * validated, in shared/settings.ts (docs/settings.md); this file shapes them for the code.
 */
import { TidemarkError } from './errors';
import { type ConnectionSettingName, type LoadedSettings, loadSettings } from './settings';

export interface RegionConfig {
  name: string;
  role: 'source' | 'target';
  connectionString?: string;
}

export interface TidemarkConfig {
  source: RegionConfig;
  target: RegionConfig;
  /** What enable replication writes into every agent's config. */
  agent: { heartbeatIntervalMs?: number };
  /** How the agents' cache credentials are issued (shared/cacheSas.ts). */
  agentCredentials: AgentCredentialPolicy;
  fabric: FabricConfig;
}

export interface AgentCredentialPolicy {
  /** Delta sequence numbers per issue. */
  window: number;
  /** How long an issue stays valid. */
  lifetimeMs: number;
}

export interface FabricConfig {
  kind: 'local' | 'arm';
  subscriptionId?: string;
  armEndpoint: string;
  managedIdentityClientId?: string;
}

export function loadConfig(env: Record<string, string | undefined> = process.env): TidemarkConfig {
  const loaded = loadSettings(env);
  const s = loaded.values;
  return {
    source: {
      name: s.TIDEMARK_SOURCE_REGION,
      role: 'source',
      connectionString: connectionString(loaded, 'TIDEMARK_SOURCE_STORAGE'),
    },
    target: {
      name: s.TIDEMARK_TARGET_REGION,
      role: 'target',
      connectionString: connectionString(loaded, 'TIDEMARK_TARGET_STORAGE') ?? s.AzureWebJobsStorage,
    },
    agent:
      s.TIDEMARK_AGENT_HEARTBEAT_MS === undefined
        ? {}
        : { heartbeatIntervalMs: s.TIDEMARK_AGENT_HEARTBEAT_MS },
    agentCredentials: {
      window: s.TIDEMARK_AGENT_SAS_WINDOW,
      lifetimeMs: s.TIDEMARK_AGENT_SAS_LIFETIME_HOURS * 3_600_000,
    },
    fabric: fabricConfig(loaded),
  };
}

/**
 * A region's connection string. Each region's account is also the cache of the VMs replicating from
 * it, and the agent's SAS is signed with the account key, so tidemark's own storage clients take the
 * connection-string form only (the Functions host's blob trigger would take either).
 */
function connectionString(
  loaded: LoadedSettings,
  name: Extract<ConnectionSettingName, 'TIDEMARK_SOURCE_STORAGE' | 'TIDEMARK_TARGET_STORAGE'>,
): string | undefined {
  const connection = loaded.connections[name];
  if (connection?.kind === 'identity') {
    throw new TidemarkError(
      'InvalidConfig',
      `${name} is set as an identity-based connection (${name}__…), but tidemark needs its connection string: ` +
        "the agent's SAS for the cache is signed with the account key.",
      {
        hint: `Set ${name} to the account's connection string ("DefaultEndpointsProtocol=https;AccountName=…;AccountKey=…"); infra/main.bicep does. See docs/settings.md.`,
        details: { settings: [name] },
      },
    );
  }
  return connection?.connectionString;
}

function fabricConfig(loaded: LoadedSettings): FabricConfig {
  // loadSettings already refused TIDEMARK_FABRIC=arm without AZURE_SUBSCRIPTION_ID.
  const s = loaded.values;
  return {
    kind: s.TIDEMARK_FABRIC,
    armEndpoint: s.TIDEMARK_ARM_ENDPOINT,
    ...(s.AZURE_SUBSCRIPTION_ID ? { subscriptionId: s.AZURE_SUBSCRIPTION_ID } : {}),
    ...(s.AZURE_CLIENT_ID ? { managedIdentityClientId: s.AZURE_CLIENT_ID } : {}),
  };
}
