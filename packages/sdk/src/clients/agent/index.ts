/** AgentClient: the agent service in front of a compute cluster (client.md §10). */
import { loadCredentials } from '../credentials.ts';
import { BaseClient, type ClientOptions } from '../http.ts';

export interface AgentClientOptions extends ClientOptions {
  /** Sent as `SYNAPSE-User: Token <t>`. */
  userToken?: string;
  /** Sent as `SYNAPSE-Tenant: Token <t>`. */
  tenant?: string;
}

export class AgentClient extends BaseClient {
  readonly #agentToken: string;
  readonly #userToken: string | undefined;
  readonly #tenant: string | undefined;

  constructor(baseUrl: string, agentToken: string, options: AgentClientOptions = {}) {
    super(baseUrl, 'Agent', { connect: 3, read: 10 }, options);
    this.#agentToken = agentToken;
    this.#userToken = options.userToken;
    this.#tenant = options.tenant;
  }

  /**
   * The agent of this environment: `SYNAPSE_AGENT_URL` + `SYNAPSE_AGENT_TOKEN`, else the `agent`
   * of the credentials file; null when neither gives both.
   */
  static fromEnv(env: Record<string, string | undefined> = process.env): AgentClient | null {
    const agent = loadCredentials(env).agent;
    const url = env.SYNAPSE_AGENT_URL ?? agent?.url;
    const token = env.SYNAPSE_AGENT_TOKEN ?? agent?.token;
    if (!url || !token) return null;
    return new AgentClient(url, token, {
      userToken: env.SYNAPSE_PLUGIN_RUN_USER_TOKEN,
      tenant: env.SYNAPSE_PLUGIN_RUN_TENANT,
    });
  }

  override getHeaders(): Record<string, string> {
    const headers: Record<string, string> = {};
    if (this.#agentToken) headers.Authorization = this.#agentToken;
    if (this.#userToken) headers['SYNAPSE-User'] = `Token ${this.#userToken}`;
    if (this.#tenant) headers['SYNAPSE-Tenant'] = `Token ${this.#tenant}`;
    return headers;
  }
}
