/**
 * One serve replica as a process (forked by `LocalServeBackend` with the tsx loader, or started by
 * the Ray Serve ingress): imports the deployment's module, constructs the class, then answers the
 * gateway's requests over IPC. The replica's context (`ServeReplicaContext`: env, logger, backend
 * client) is this process's: the constructor builds it, since `initArgs` cross the process
 * boundary as JSON and a subclass constructor forwards only `backendUrl`.
 */
import { importModule } from '../plugins/entrypoint.ts';
import { type BaseServeDeployment, invokeServeHandler, isServeDeploymentClass } from './deployment.ts';
import type { WorkerReply, WorkerRequest } from './local-backend.ts';

let instance: BaseServeDeployment | null = null;

function send(message: WorkerReply): void {
  process.send?.(message);
}

async function init(msg: Extract<WorkerRequest, { type: 'init' }>): Promise<void> {
  try {
    const mod = await importModule(msg.modulePath);
    const Cls = mod[msg.exportName];
    if (!isServeDeploymentClass(Cls)) {
      throw new Error(
        `Export '${msg.exportName}' of ${msg.modulePath} is not a BaseServeDeployment subclass`,
      );
    }
    const Concrete = Cls as unknown as new (...args: unknown[]) => BaseServeDeployment;
    instance = new Concrete(...msg.initArgs);
    if (msg.maxModelsPerReplica) instance.setMaxModelsPerReplica?.(msg.maxModelsPerReplica);
    send({ type: 'ready', pid: process.pid });
  } catch (e) {
    send({ type: 'init-error', message: (e as Error)?.message ?? String(e) });
  }
}

process.on('message', (raw) => {
  const msg = raw as WorkerRequest;
  if (msg.type === 'init') void init(msg);
  else if (msg.type === 'request') {
    const { id, handler, body, request, multiplexedModelId } = msg;
    if (!instance) {
      send({ type: 'response', id, status: 503, body: { detail: 'Replica is not ready' } });
      return;
    }
    void invokeServeHandler(instance, handler, body, request, multiplexedModelId).then(
      (res) => send({ type: 'response', id, ...res }),
      (e) => send({ type: 'response', id, status: 500, body: { detail: String(e) } }),
    );
  } else if (msg.type === 'stop') void stop();
});

/**
 * Ends the replica after releasing its models, which removes the folders they were downloaded
 * to: asked to stop, the gateway gone (nothing will ask for work again), or SIGTERM (how Ray's
 * ingress ends its Node process when Serve removes the replica).
 */
function stop(): Promise<void> {
  stopping ??= (async () => {
    await instance?.disposeModels?.().catch(() => {});
    if (process.connected) process.disconnect();
    process.exit(0);
  })();
  return stopping;
}
let stopping: Promise<void> | undefined;

process.on('disconnect', () => void stop());
process.on('SIGTERM', () => void stop());
