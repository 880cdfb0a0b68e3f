/**
 * The serve backend (inference.md §2.2): where `BaseDeploymentAction.deploy()` runs a serve app.
 * A run's backend is the one its executor was given (`RuntimeContext.serveBackend`); without one,
 * the process's gateway: a `LocalServeBackend` on `RAY_SERVE_ADDRESS`, created on first use.
 */
import type { AgentServeApplication } from '../clients/agent/index.ts';
import type { BaseServeDeployment } from './deployment.ts';
import { LocalServeBackend } from './local-backend.ts';

export interface ServeApp {
  name: string;
  routePrefix: string;
  deployment: typeof BaseServeDeployment;
  initArgs: unknown[];
  actorOptions: Record<string, unknown>;
  /** `num_replicas` (default 1); `max_models_per_replica` overrides the class's value. */
  serveOptions: Record<string, unknown>;
  /**
   * The file that exports the deployment class and the export's name: with them replicas run as
   * worker processes; without, as instances in this process.
   */
  modulePath?: string;
  exportName?: string;
}

export interface ServeBackend {
  /** Idempotent. */
  init(options?: Record<string, unknown>): Promise<void>;
  run(app: ServeApp): Promise<void>;
  delete(name: string): Promise<void>;
  /** The app in the agent's shape (backend-api.md §14.4), or null when unknown. */
  status(name: string): Promise<AgentServeApplication | null>;
}

/**
 * The gateway of a process that was given no backend. It binds `RAY_SERVE_ADDRESS`, a port of this
 * machine, so there can be one per process at most: every run without a backend of its own shares
 * it. It is set once and never replaced (a run that needs another backend is given it).
 */
let processGateway: ServeBackend | null = null;

/** The backend a run deploys to: the one given to it, else the process's gateway. */
export function serveBackendOf(given: ServeBackend | null | undefined): ServeBackend {
  if (given) return given;
  processGateway ??= new LocalServeBackend();
  return processGateway;
}
