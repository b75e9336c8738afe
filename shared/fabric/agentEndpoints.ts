/**
 * Where a local VM's mobility agent serves its disks over NBD: runtime state the local VM runner
 * (local/vmRunner.ts) publishes for `GET /api/vms/{rg}/{vm}`. It lives beside the VM in the region's
 * `Fabric` table as its own row (`agentEndpoints|{vm}`), not in the VM record, so the runner never
 * races a PUT for the VM's ETag. In Azure there is no such row: a VM there has no NBD endpoint.
 */
import { TableClient } from '@azure/data-tables';

import { TABLES } from '../storageNames';
import { nameKey } from './names';
import { type RecordKey, TableRecords } from './tableRecords';

export interface AgentEndpoint {
  resourceGroup: string;
  vm: string;
  host: string;
  port: number;
  /** NBD export names, one per disk, in lun order; the default export is the first. */
  exports: string[];
  /** ISO time the runner published it. */
  updatedAt: string;
}

export interface AgentEndpointStore {
  get(resourceGroup: string, vm: string): Promise<AgentEndpoint | undefined>;
  /** Every published endpoint in the region. */
  list(): Promise<AgentEndpoint[]>;
  put(endpoint: AgentEndpoint): Promise<void>;
  delete(resourceGroup: string, vm: string): Promise<void>;
}

const KIND = 'agentEndpoints';

export class TableAgentEndpointStore implements AgentEndpointStore {
  readonly #records: TableRecords;

  constructor(table: TableClient) {
    this.#records = new TableRecords(table);
  }

  static fromConnectionString(connectionString: string): TableAgentEndpointStore {
    return new TableAgentEndpointStore(
      TableClient.fromConnectionString(connectionString, TABLES.fabric, { allowInsecureConnection: true }),
    );
  }

  #key(resourceGroup: string, vm: string): RecordKey {
    return { partitionKey: nameKey(resourceGroup), rowKey: `${KIND}|${nameKey(vm)}` };
  }

  async get(resourceGroup: string, vm: string): Promise<AgentEndpoint | undefined> {
    return (await this.#records.get<AgentEndpoint>(this.#key(resourceGroup, vm)))?.value;
  }

  async list(): Promise<AgentEndpoint[]> {
    return (await this.#records.list<AgentEndpoint>({ rowPrefix: `${KIND}|` })).map((r) => r.value);
  }

  async put(endpoint: AgentEndpoint): Promise<void> {
    const key = this.#key(endpoint.resourceGroup, endpoint.vm);
    await this.#records.put(key, 'agent endpoint', `${endpoint.resourceGroup}/${endpoint.vm}`, endpoint, '*');
  }

  async delete(resourceGroup: string, vm: string): Promise<void> {
    await this.#records.delete(this.#key(resourceGroup, vm), 'agent endpoint', `${resourceGroup}/${vm}`);
  }
}
