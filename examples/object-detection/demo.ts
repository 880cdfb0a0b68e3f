/**
 * The main job (`npm start`): the local platform on its embedded defaults, a project of real photos,
 * the object-detection plugin published with its model registered (and the street scenes of
 * `synapse dev --seed demo` for ToTask's file method), and ToTask (method "inference")
 * run as a job that deploys the detector on demand behind the capacity gate. Prints the progress,
 * the metrics and the dashboard's address, then keeps serving until Ctrl-C. A second run reuses
 * the data, the releases and the model, and annotates the tasks again (replacing their data).
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { seedDemo, startDevServer } from 'synapse-devserver';
import { BackendClient, defaultDevDataDir, type Job, saveCredentials } from 'synapse-sdk';
import { registerModel } from './model.ts';
import {
  ANNOTATIONS_FROM_FILES_DIR,
  ensurePublished,
  OBJECT_DETECTION_DIR,
  seedPhotoProject,
} from './setup.ts';

// The platform `synapse dev` starts (beside the config file the credentials are saved to): one
// local platform on this machine, not a second one that the saved token does not belong to.
const DATA_DIR = resolve(process.env.SYNAPSE_DEMO_DATA_DIR ?? defaultDevDataDir());
const PORT = Number(process.env.PORT ?? 8000);
const SERVE_PORT = Number(process.env.SERVE_PORT ?? 8100);
const FINAL = new Set(['SUCCEEDED', 'FAILED', 'STOPPED', 'CANCELLED']);
const tty = process.stdout.isTTY === true;

const say = (line: string) => process.stdout.write(`${line}\n`);

/** The job's newest message (its console log without the progress and metrics lines). */
function lastMessage(job: Job): string {
  const lines = Array.isArray(job.console_logs) ? job.console_logs : [];
  const line = lines.findLast((l) => !/\] (Progress|Metrics): /.test(l)) ?? '';
  return line.replace(/^[A-Z]+: /, '');
}

/**
 * One line of progress and metrics, redrawn in place on a terminal; before the tasks start (the
 * detector may be deploying) it shows what the job last said.
 */
function drawProgress(job: Job, done: boolean): void {
  const progress = (job.progress_record as Record<string, any> | null)?.current_progress;
  const percent = Math.min(100, Math.max(0, Number(progress?.overall ?? 0)));
  const metrics = (job.metrics_record as Record<string, any> | null)?.record?.categories?.annotate_task_data;
  const filled = Math.round(percent / (100 / 30));
  const status = metrics
    ? `${progress?.category ?? job.status}  success ${metrics.success}  failed ${metrics.failed}  waiting ${metrics.stand_by}`
    : `${job.status}  ${lastMessage(job)}`;
  const line =
    `  ${'█'.repeat(filled)}${'░'.repeat(30 - filled)} ${percent.toFixed(0).padStart(3)}%  ${status}`.slice(
      0,
      110,
    );
  if (tty) process.stdout.write(`\r${line.padEnd(110)}${done ? '\n' : ''}`);
  else if (done) say(line);
}

async function follow(client: BackendClient, jobId: string): Promise<Job> {
  for (;;) {
    const job = await client.getJob(jobId);
    const done = FINAL.has(String(job.status));
    drawProgress(job, done);
    if (done) return job;
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function main(): Promise<void> {
  await mkdir(DATA_DIR, { recursive: true });
  const server = await startDevServer({ port: PORT, dataDir: DATA_DIR, serve: { port: SERVE_PORT } }).catch(
    (err: NodeJS.ErrnoException & { port?: number }) => {
      if (err.code !== 'EADDRINUSE') throw err;
      const [variable, taken] =
        err.port === SERVE_PORT && SERVE_PORT !== PORT ? ['SERVE_PORT', SERVE_PORT] : ['PORT', PORT];
      throw new Error(
        `Port ${taken} is in use (another \`npm start\` or \`synapse dev\`?). Stop it, or set ${variable} ` +
          `to another port (${variable}=0 picks a free one): ${variable}=${taken + 1} npm start`,
        { cause: err },
      );
    },
  );
  const stop = () => server.close().finally(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  const { credentials } = server;
  const client = new BackendClient(server.url, { accessToken: credentials.accessToken });
  const agent = credentials.agentId;
  say(`Synapse local platform: ${server.url} (data in ${DATA_DIR})`);
  // As `synapse dev` does: the CLI and SDK on this machine find the platform without setup.
  const saved = await saveCredentials({
    host: server.url,
    access_token: credentials.accessToken,
    agent: { id: agent, name: 'local', url: server.agentUrl, token: credentials.agentToken },
  });
  say(`  credentials saved to ${saved}`);
  // The password is never printed (terminal output is often shared): it lives in a 0600 file.
  say(
    server.loginFile
      ? `  dashboard login: ${credentials.email}, password in ${server.loginFile} (or the access_token in ${saved})`
      : `  dashboard login: the access_token in ${saved}`,
  );

  const work = join(DATA_DIR, 'demo');
  await mkdir(work, { recursive: true });
  const photos = await seedPhotoProject(client, work);
  say(`  project ${photos.project}: ${photos.tasks} photos as tasks`);
  const streets = await seedDemo(server.ctx);
  say(`  project ${streets.project}: ${streets.tasks} street scenes with annotation files (ToTask "file")`);
  const detector = await ensurePublished(client, OBJECT_DETECTION_DIR);
  const annotationsFromFiles = await ensurePublished(client, ANNOTATIONS_FROM_FILES_DIR);
  say(
    `  plugins: object-detection (release ${detector}), annotations-from-files (release ${annotationsFromFiles})`,
  );
  const model = await registerModel(client, work);
  say(`  model ${model.id}: ${model.name}`);

  say('ToTask with method "inference" (the detector deploys on first use):');
  const { job_id: jobId } = await client.runPlugin('annotations-from-files', {
    agent,
    action: 'to_task',
    params: {
      name: 'detect-objects',
      project: photos.project,
      agent,
      method: 'inference',
      pre_processor: detector,
      model: model.id,
      pre_processor_params: { confidence_threshold: 0.3, nms_threshold: 0.5, max_objects: 20 },
      task_filters: { project: photos.project },
    },
  });
  const job = await follow(client, jobId);
  const result = (job.result ?? {}) as Record<string, unknown>;
  say(
    `  ${job.status}: ${result.success_count ?? 0} of ${result.total_tasks ?? 0} tasks annotated, ${result.failed_count ?? 0} failed`,
  );
  for (const failure of (result.failures as Array<{ task_id: number; error: string }>) ?? []) {
    say(`    task ${failure.task_id}: ${failure.error}`);
  }
  say(`Dashboard: ${server.url}/ui/projects/${photos.project}  (jobs: ${server.url}/ui/jobs/${jobId})`);
  say('Press Ctrl+C to stop.');
}

main().catch((err: Error) => {
  process.stderr.write(`Error: ${err.message}\n`);
  process.exit(1);
});
