/** BackendClient: the platform's v1 REST API (client.md §1, §2.1), composed of one mixin per family. */
import { BaseClient, type ClientOptions } from '../http.ts';
import { type AnnotationClientMixin, annotationMethods } from './annotation.ts';
import { type BulkUploadClientMixin, bulkUploadMethods } from './bulk-upload.ts';
import { type CoreClientMixin, coreMethods } from './core.ts';
import { type DataCollectionClientMixin, dataCollectionMethods } from './data-collection.ts';
import { type HITLClientMixin, hitlMethods } from './hitl.ts';
import { type IntegrationClientMixin, integrationMethods } from './integration.ts';
import { type MLClientMixin, mlMethods } from './ml.ts';

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
  extends AnnotationClientMixin,
    BulkUploadClientMixin,
    CoreClientMixin,
    DataCollectionClientMixin,
    HITLClientMixin,
    IntegrationClientMixin,
    MLClientMixin {}

Object.assign(
  BackendClient.prototype,
  annotationMethods,
  bulkUploadMethods,
  coreMethods,
  dataCollectionMethods,
  hitlMethods,
  integrationMethods,
  mlMethods,
);

export type * from './annotation.ts';
export type * from './bulk-upload.ts';
export type * from './core.ts';
export type * from './data-collection.ts';
export type * from './hitl.ts';
export type * from './integration.ts';
export type * from './ml.ts';
