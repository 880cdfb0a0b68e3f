/**
 * BackendClient: the platform's v1 REST API (client.md §1, §2.1), composed of one mixin per
 * resource family. The families' wire types and schemas are the contract's (synapse-core).
 */
import { BaseClient, type ClientOptions } from '../http.ts';
import { type AgentsClientMixin, agentsMethods } from './agents.ts';
import { type BulkUploadClientMixin, bulkUploadMethods } from './bulk-upload.ts';
import { type CoreClientMixin, coreMethods } from './core.ts';
import { type DataCollectionClientMixin, dataCollectionMethods } from './data-collections.ts';
import { type GroundTruthClientMixin, groundTruthMethods } from './ground-truth.ts';
import { type HITLClientMixin, hitlMethods } from './hitl.ts';
import { type JobsClientMixin, jobsMethods } from './jobs.ts';
import { type LogsClientMixin, logsMethods } from './logs.ts';
import { type ModelsClientMixin, modelsMethods } from './models.ts';
import { type PluginsClientMixin, pluginsMethods } from './plugins.ts';
import { type ProjectsClientMixin, projectsMethods } from './projects.ts';
import { type ServeApplicationsClientMixin, serveApplicationsMethods } from './serve-applications.ts';
import { type StoragesClientMixin, storagesMethods } from './storages.ts';
import { type TasksClientMixin, tasksMethods } from './tasks.ts';

export interface BackendClientOptions extends ClientOptions {
  /** Sent as `Synapse-Access-Token: Token <t>`. */
  accessToken?: string;
  /** Sent as `Authorization: Token <t>` (legacy or plugin-run user token). */
  authorizationToken?: string;
  /** Sent as `Synapse-Tenant: Token <t>`. */
  tenant?: string;
  /** Sent as `SYNAPSE-Agent: Token <t>`. */
  agentToken?: string;
}

export const DEFAULT_BACKEND_URL = 'https://api.synapse.sh';

export class BackendClient extends BaseClient {
  readonly #credentials: Pick<
    BackendClientOptions,
    'accessToken' | 'authorizationToken' | 'tenant' | 'agentToken'
  >;

  constructor(baseUrl: string, options: BackendClientOptions = {}) {
    super(baseUrl, 'Backend', { connect: 5, read: 15 }, options);
    const { accessToken, authorizationToken, tenant, agentToken } = options;
    this.#credentials = { accessToken, authorizationToken, tenant, agentToken };
  }

  override getHeaders(): Record<string, string> {
    const { accessToken, authorizationToken, tenant, agentToken } = this.#credentials;
    const headers: Record<string, string> = {};
    if (accessToken) headers['Synapse-Access-Token'] = `Token ${accessToken}`;
    if (authorizationToken) headers.Authorization = `Token ${authorizationToken}`;
    if (tenant) headers['Synapse-Tenant'] = `Token ${tenant}`;
    if (agentToken) headers['SYNAPSE-Agent'] = `Token ${agentToken}`;
    return headers;
  }

  /** True when the named list method finds at least one item for these arguments. */
  async exists(apiName: keyof BackendClient, ...args: unknown[]): Promise<boolean> {
    const method = this[apiName];
    if (typeof method !== 'function') throw new TypeError(`Unknown method: ${String(apiName)}`);
    const result = await (method as (...a: unknown[]) => Promise<unknown>).apply(this, args);
    const count = Array.isArray(result) ? result[1] : (result as { count?: number })?.count;
    return typeof count === 'number' && count > 0;
  }
}

export interface BackendClient
  extends AgentsClientMixin,
    BulkUploadClientMixin,
    CoreClientMixin,
    DataCollectionClientMixin,
    GroundTruthClientMixin,
    HITLClientMixin,
    JobsClientMixin,
    LogsClientMixin,
    ModelsClientMixin,
    PluginsClientMixin,
    ProjectsClientMixin,
    ServeApplicationsClientMixin,
    StoragesClientMixin,
    TasksClientMixin {}

// One module per resource family, named as the platform's routes are (models, projects, tasks,
// jobs, ...), each adding its methods to the one client.
Object.assign(
  BackendClient.prototype,
  agentsMethods,
  bulkUploadMethods,
  coreMethods,
  dataCollectionMethods,
  groundTruthMethods,
  hitlMethods,
  jobsMethods,
  logsMethods,
  modelsMethods,
  pluginsMethods,
  projectsMethods,
  serveApplicationsMethods,
  storagesMethods,
  tasksMethods,
);

export type * from './agents.ts';
export type * from './bulk-upload.ts';
export type * from './core.ts';
export type * from './data-collections.ts';
export type * from './ground-truth.ts';
export type * from './hitl.ts';
export type * from './jobs.ts';
export type * from './logs.ts';
export type * from './models.ts';
export type * from './plugins.ts';
export type * from './projects.ts';
export type * from './serve-applications.ts';
export type * from './storages.ts';
export type * from './tasks.ts';
