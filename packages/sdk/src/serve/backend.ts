/**
 * The serve backend (inference.md §2.2): where `BaseDeploymentAction.deploy()` runs a serve app.
 * There is no Ray for Node; the default is `LocalServeBackend`, swappable with `setServeBackend`.
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

let current: ServeBackend | null = null;

/** The process-wide serve backend (a `LocalServeBackend` on `RAY_SERVE_ADDRESS` unless swapped). */
export function getServeBackend(): ServeBackend {
  current ??= new LocalServeBackend();
  return current;
}

export function setServeBackend(backend: ServeBackend | null): void {
  current = backend;
}
