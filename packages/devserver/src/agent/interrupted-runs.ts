/**
 * Runs a restart interrupted (#11 item 6). The processes of a platform that stopped or died went
 * with it: a job process ends when its channel to the server closes, and a simulated deployment
 * was only a timer. So when the platform starts, a record that still says PENDING or RUNNING
 * describes a run nothing carries on: it ends FAILED, with the reason in its console log, and a
 * serve application this server deployed itself ends DEPLOY_FAILED unless the serve host deploys it
 * again (`ServeHost.restore`).
 */
import type { DevContext } from '../context.ts';
import type { Doc } from '../db/collection.ts';
import { addCondition, emptyWhere } from '../db/filters.ts';
import { consoleLines, statusFields, updateJob } from '../jobs.ts';

export const INTERRUPTED_RUNNING =
  'The local platform restarted while this job was running; its process is gone.';
export const INTERRUPTED_PENDING =
  'The local platform restarted before this job started; it was not run. Run it again.';
export const INTERRUPTED_DEPLOYING =
  'The local platform restarted while this application was deploying; deploy it again.';

export interface ReconcileOptions {
  /** This server runs `job` actions itself; without it, those jobs belong to whoever drives them. */
  runsJobs: boolean;
  /** The serve host deploys live applications again, so those are left to it. */
  redeploys: boolean;
}

export interface Reconciled {
  /** Ids of the jobs ended FAILED. */
  jobs: string[];
  /** Ids of the serve applications ended DEPLOY_FAILED. */
  apps: number[];
}

/** Ends the runs of the previous server process; call before the server takes requests. */
export async function reconcileInterruptedRuns(
  ctx: DevContext,
  options: ReconcileOptions,
): Promise<Reconciled> {
  const live = emptyWhere();
  addCondition(live, `doc->>'status' = ANY($?)`, ['PENDING', 'RUNNING']);
  const jobs = (await ctx.collections.jobs.find(live)).filter(
    // Deployments are always this server's: it plays them or hosts them.
    (job) => options.runsJobs || job.action === 'deployment',
  );
  for (const job of jobs) await fail(ctx, job);

  const apps: number[] = [];
  if (!options.redeploys) {
    const deploying = emptyWhere();
    addCondition(deploying, `doc->>'status' = $?`, 'DEPLOYING');
    for (const app of await ctx.collections.serve_applications.find(deploying)) {
      const data = app.data && typeof app.data === 'object' ? app.data : {};
      await ctx.collections.serve_applications.update(app.id, {
        status: 'DEPLOY_FAILED',
        data: { ...data, message: INTERRUPTED_DEPLOYING },
        modified: new Date().toISOString(),
      });
      apps.push(app.id as number);
    }
  }
  return { jobs: jobs.map((job) => String(job.id)), apps };
}

async function fail(ctx: DevContext, job: Doc): Promise<void> {
  const reason = job.status === 'RUNNING' ? INTERRUPTED_RUNNING : INTERRUPTED_PENDING;
  await updateJob(ctx, job.id as string, {
    ...statusFields('FAILED'),
    console_logs: [...consoleLines(job.console_logs), `ERROR: ${reason}`],
  });
  // A Ray job outlives this server: nothing follows it any more, so it is stopped (best effort,
  // in the background: an unreachable dashboard must not hold up the start).
  if (ctx.ray && job.status === 'RUNNING' && job.action !== 'deployment')
    ctx.ray.stopJob(String(job.id)).catch(() => {});
}
