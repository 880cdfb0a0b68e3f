/**
 * `synapse serve`: runs a plugin's serve deployment (a `BaseServeDeployment` action), or its
 * `restapi` actions (each at `POST <prefix>/<action>`), on this machine through the local serve
 * gateway, with worker-process replicas.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { didYouMean, humanList, releaseChecksum, releaseCode, releaseRoutePrefix } from 'synapse-core';
import { backendUrlOf, ENV, envValue, serveAddress } from '../environment.ts';
import { parsePort, UsageError } from './output.ts';

interface ServeOptions {
  path: string;
  deployment?: string;
  replicas: string;
  port?: string;
  host?: string;
  maxModelsPerReplica?: string;
  backendUrl?: string;
}

function positiveInt(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`Invalid --${name}: ${value} (expected an integer >= 1)`);
  return n;
}

async function runServe(opts: ServeOptions): Promise<void> {
  const [{ loadPluginConfig }, { resolveEntrypoint }, { loadEntrypoint }, serve, { loadCredentials }] =
    await Promise.all([
      import('../plugins/config.ts'),
      import('../plugins/entrypoint.ts'),
      import('../actions/entrypoint.ts'),
      import('../serve/index.ts'),
      import('../clients/credentials.ts'),
    ]);
  const replicas = positiveInt('replicas', opts.replicas);
  const maxModels =
    opts.maxModelsPerReplica === undefined
      ? undefined
      : positiveInt('max-models-per-replica', opts.maxModelsPerReplica);
  const address = new URL(serveAddress(process.env));
  const port = parsePort('port', opts.port ?? (address.port || 8100));

  const dir = resolve(opts.path);
  const config = await loadPluginConfig(dir);
  const actions = config.actions as Record<string, { entrypoint?: string; method?: string }>;
  const restApi = serve.restApiActions(config);
  // No --deployment: the `inference` deployment, else the plugin's restapi actions.
  const chosen =
    opts.deployment ?? ('inference' in actions || !Object.keys(restApi).length ? 'inference' : null);
  const action = chosen === null ? null : actions[chosen];
  if (chosen !== null && !action) {
    const available = Object.keys(actions);
    throw new UsageError(
      `Action '${chosen}' not found in plugin '${config.code}'.${didYouMean(chosen, available)} ` +
        `Its actions: ${humanList(available, 'and')}. Name the deployment with --deployment <action>.`,
    );
  }
  let served: {
    deployment: typeof serve.BaseServeDeployment;
    file: string;
    exportName: string;
    initArgs: unknown[];
  };
  if (action === null || action?.method === 'restapi') {
    // Every restapi action of the plugin, each on a route of its own, in one app.
    served = {
      deployment: serve.restApiDeployment(restApi) as unknown as typeof serve.BaseServeDeployment,
      file: serve.REST_API_MODULE,
      exportName: 'RestApiDeployment',
      initArgs: [{ dir, actions: restApi }],
    };
  } else {
    if (!action.entrypoint) throw new UsageError(`Action '${chosen}' has no entrypoint`);
    const target = resolveEntrypoint(action.entrypoint, dir);
    const deployment = await loadEntrypoint(action.entrypoint, dir);
    if (!serve.isServeDeploymentClass(deployment)) {
      throw new UsageError(
        `Action '${chosen}' (${action.entrypoint}) is neither a BaseServeDeployment subclass nor a restapi action`,
      );
    }
    served = { deployment, file: target.file, exportName: target.exportName, initArgs: [] };
  }
  const { deployment } = served;

  const env = process.env;
  const name = envValue(env, ENV.releaseCode) ?? releaseCode(config.code, config.version);
  const routePrefix = releaseRoutePrefix(envValue(env, ENV.releaseChecksum) ?? releaseChecksum(name));
  const backendUrl = opts.backendUrl ?? backendUrlOf(env) ?? loadCredentials().host ?? '';

  const backend = new serve.LocalServeBackend({ address: address.href, port, host: opts.host });
  await backend.init().catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EADDRINUSE') throw err;
    throw new Error(
      `Port ${port} on ${opts.host ?? address.hostname} is in use (\`synapse dev\` and \`npm start\` serve on 8100). ` +
        `Pass --port <port> (0 picks a free one), and point runs at it with ${ENV.serveAddress.name}.`,
      { cause: err },
    );
  });
  const stop = () =>
    backend.close().then(
      () => process.exit(0),
      (err: Error) => {
        process.stderr.write(`Error: stopping the serve gateway failed: ${err.message}\n`);
        process.exit(1);
      },
    );
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await backend.run({
      name,
      routePrefix,
      deployment,
      initArgs: [backendUrl, ...served.initArgs],
      actorOptions: {},
      serveOptions: { num_replicas: replicas, ...(maxModels ? { max_models_per_replica: maxModels } : {}) },
      modulePath: served.file,
      exportName: served.exportName,
    });
  } catch (err) {
    await backend.close().catch(() => {});
    throw err;
  }
  const lines = [
    `Serving ${name} (${chosen === null || action?.method === 'restapi' ? 'restapi actions' : served.exportName}) at ${backend.url}${routePrefix}/`,
    `  route prefix: ${routePrefix}`,
    `  replicas:     ${replicas} (pids ${backend.replicaPids(name).join(', ')})`,
    `  models:       ${maxModels ?? deployment.maxModelsPerReplica} per replica`,
    // The backend URL is also the secret of model tokens: it is never printed.
    `  backend:      ${backendUrl ? 'configured' : '(none: set SYNAPSE_HOST or --backend-url to load models)'}`,
    `  routes:       ${deployment.routes.map((r) => `${r.method} ${r.path}`).join(', ')}`,
  ];
  process.stdout.write(`${lines.join('\n')}\nPress Ctrl+C to stop.\n`);
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description(
      "serve a plugin's BaseServeDeployment, or its restapi actions, over HTTP on this machine (local serve gateway)",
    )
    .option('--path <dir>', 'plugin directory', '.')
    .option(
      '--deployment <action>',
      "a BaseServeDeployment action, or a restapi action (serves all the plugin's restapi actions); default inference, else the restapi actions",
    )
    .option('--replicas <n>', 'replica worker processes', '1')
    .option(
      '-p, --port <port>',
      'port to listen on (default: RAY_SERVE_ADDRESS port, else 8100; 0 picks one)',
    )
    .option('--host <host>', 'address to bind (default: RAY_SERVE_ADDRESS host, else localhost)')
    .option('--max-models-per-replica <n>', "models each replica keeps loaded (default: the class's)")
    .option('--backend-url <url>', 'backend the models come from (default: SYNAPSE_HOST or the saved login)')
    .action(runServe);
}
