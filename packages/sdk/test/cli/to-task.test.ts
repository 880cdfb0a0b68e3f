/**
 * The example pre-annotation plugin (built on ToTaskAction) run as a user runs it, against the
 * demo project of `synapse dev --seed demo`: 9 of its 12 tasks have an annotation file.
 * Own server: the demo project (one per server) seeded through its context.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { seedDemo } from 'synapse-devserver';
import { beforeAll, describe, expect, it } from 'vitest';
import { useDevServer } from '../helpers.ts';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '../../bin/synapse.js');
const PLUGIN = join(import.meta.dirname, '../../../../examples/annotations-from-files');
const h = useDevServer();
let project: number;

beforeAll(async () => {
  ({ project } = await seedDemo(h.server.ctx));
});

function toTask(mode: string) {
  const params = {
    name: `from-files-${mode}`,
    project,
    agent: h.server.credentials.agentId,
    method: 'file',
    target_specification_name: 'annotation_data',
    task_filters: { project },
  };
  return run(
    process.execPath,
    [BIN, 'plugin', 'run', 'to_task', '--mode', mode, '--params', JSON.stringify(params)],
    {
      cwd: PLUGIN,
      env: {
        ...process.env,
        SYNAPSE_HOST: h.server.url,
        SYNAPSE_ACCESS_TOKEN: h.server.credentials.accessToken,
      },
    },
  );
}

describe('synapse plugin run to_task (examples/annotations-from-files)', () => {
  it.each(['local', 'job'])('annotates the tasks that have a file, in %s mode', async (mode) => {
    const { stdout, stderr } = await toTask(mode);
    // In either mode the run's lines go to stderr: stdout is the result's JSON alone.
    const result = JSON.parse(stdout);
    expect(result).toMatchObject({ status: 'SUCCEEDED', total_tasks: 12, success_count: 9, failed_count: 3 });
    expect(result.failures).toHaveLength(3);
    expect(stderr).toContain('[annotate_task_data] Progress: 100.0% (12/12)');

    const [tasks] = await h.client.listTasks({ project });
    const annotated = tasks.filter((t) => Array.isArray((t.data as { objects?: unknown[] }).objects));
    expect(annotated).toHaveLength(9);
    for (const task of annotated)
      expect((task.data as { objects: Array<{ class_id: number }> }).objects[0].class_id).toBeTypeOf(
        'number',
      );
  });
});
