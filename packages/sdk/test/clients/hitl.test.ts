import { describe, expect, it } from 'vitest';
import { type Assignment, NotFoundError, ValidationError } from '../../src/index.ts';
import { SIGNED_QUERY, useSharedPlatform } from '../helpers.ts';

// On the shared platform: every test works in a project of its own and lists by it.
const h = useSharedPlatform();

/**
 * `url` is `ref` signed by this platform: its own signature checks out (the file is not there:
 * 404), and the same URL with the signature altered is refused (403).
 */
async function expectSignedByPlatform(url: string, ref: string) {
  expect(url).toMatch(new RegExp(`^${h.server.url}/${ref.replaceAll('.', '\\.')}${SIGNED_QUERY}$`));
  expect((await fetch(url)).status).toBe(404);
  const altered = url.replace(/signature=(.)/, (_, c: string) => `signature=${c === '0' ? '1' : '0'}`);
  expect((await fetch(altered)).status).toBe(403);
}

async function fixtures(body: Record<string, unknown[]>): Promise<Record<string, number[]>> {
  return h.admin('POST', '_emulator/fixtures', body);
}

/** A project with two tasks on units whose files point into the media store. */
async function workspace() {
  const [collection] = (
    await fixtures({
      data_collections: [{ name: 'C', file_specifications: [{ name: 'image_1', is_primary: true }] }],
    })
  ).data_collections;
  const [project] = (await fixtures({ projects: [{ title: 'HITL', data_collection: collection }] })).projects;
  const units = (
    await fixtures({
      data_units: ['a', 'b'].map((n) => ({
        data_collection: collection,
        meta: { filename: `${n}.jpg` },
        files: {
          image_1: { url: `media/data_files/xx/${n}.jpg`, is_primary: true, file_name_original: `${n}.jpg` },
        },
      })),
    })
  ).data_units;
  const tasks = (await h.client.createTasks({ project, data: units.map((u) => ({ data_unit: u })) })).map(
    (t) => t.id,
  );
  return { project, units, tasks };
}

describe('HITLClientMixin', () => {
  it('gets an assignment with its task, data unit and files embedded', async () => {
    const { units, tasks } = await workspace();
    const [tag] = (await fixtures({ task_tags: [{ name: 'hard' }] })).task_tags;
    await h.client.setTagsTasks({ ids: [tasks[0]], tags: [tag] });
    const [id] = (await fixtures({ assignments: [{ task: tasks[0], user: 5, status_label: 'completed' }] }))
      .assignments;
    const assignment = await h.client.getAssignment(id);
    const url = (assignment.files as { image_1: { url: string } }).image_1.url;
    await expectSignedByPlatform(url, 'media/data_files/xx/a.jpg');
    const files = { image_1: { url, is_primary: true, file_name_original: 'a.jpg' } };
    expect(assignment).toEqual({
      id,
      task: { id: tasks[0], tags: [tag] },
      user: 5,
      reviewer: null,
      status_label: 'completed',
      status_review: 'stand_by',
      is_confirmed: false,
      data: {},
      tags: [],
      data_unit: { id: units[0], meta: { filename: 'a.jpg' }, files },
      files,
      created: expect.any(String),
    });
    await expect(h.client.getAssignment(999_999)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('lists assignments filtered by project, task, statuses and confirmation', async () => {
    const { project, tasks } = await workspace();
    const other = await workspace();
    const ids = (
      await fixtures({
        assignments: [
          { task: tasks[0], status_label: 'completed', status_review: 'completed', is_confirmed: true },
          { task: tasks[0], status_label: 'in_progress' },
          { task: tasks[1], status_label: 'completed', status_review: 'rejected' },
          { task: other.tasks[0], status_label: 'completed' },
        ],
      })
    ).assignments;
    const list = async (params: Record<string, any>) => {
      const [items] = await h.client.listAssignments(params);
      return items.map((a) => a.id);
    };
    expect(await list({ project })).toEqual(ids.slice(0, 3));
    expect(await list({ project: other.project })).toEqual([ids[3]]);
    expect(await list({ task: tasks[0] })).toEqual(ids.slice(0, 2));
    expect(await list({ project, status_label: 'completed' })).toEqual([ids[0], ids[2]]);
    expect(await list({ project, status_review: 'rejected' })).toEqual([ids[2]]);
    expect(await list({ project, is_confirmed: true })).toEqual([ids[0]]);
    expect(await list({ project, is_confirmed: 'False' })).toEqual(ids.slice(1, 3));

    const all = await h.client.listAssignments({ project }, { listAll: true, pageSize: 2 });
    expect(all.count).toBe(3);
    const items: Assignment[] = await all.toArray();
    expect(items.map((a) => a.id)).toEqual(ids.slice(0, 3));
    expect(items[2].files.image_1).toMatchObject({ file_name_original: 'b.jpg' });

    const bad = await h.client.listAssignments({ is_confirmed: 'maybe' }).catch((e) => e);
    expect(bad).toBeInstanceOf(ValidationError);
    expect(bad.detail).toEqual({ is_confirmed: ['Must be a valid boolean.'] });
  });

  it('adds (by default) and removes tags on assignments', async () => {
    const { tasks } = await workspace();
    const ids = (await fixtures({ assignments: [{ task: tasks[0] }, { task: tasks[1] }] })).assignments;
    const [a, b] = (await fixtures({ task_tags: [{ name: 'a' }, { name: 'b' }] })).task_tags;
    expect(await h.client.setTagsAssignments({ ids, tags: [a, b] })).toEqual({
      ids,
      tags: [a, b],
      action: 'add',
    });
    expect(await h.client.setTagsAssignments({ ids: [ids[0]], tags: [b], action: 'remove' })).toEqual({
      ids: [ids[0]],
      tags: [b],
      action: 'remove',
    });
    expect((await h.client.getAssignment(ids[0])).tags).toEqual([a]);
    expect((await h.client.getAssignment(ids[1])).tags).toEqual([a, b]);
    // Assignment tags are the assignment's own, not its task's.
    expect((await h.client.getAssignment(ids[1])).task.tags).toEqual([]);

    const err = await h.client.setTagsAssignments({ ids: [999_999], tags: [a] }).catch((e) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.detail).toEqual({ ids: ['Invalid pk "999999" - object does not exist.'] });
    const notList = await h.client.setTagsAssignments({ ids: ids[0] as any, tags: [a] }).catch((e) => e);
    expect(notList.detail).toEqual({ ids: ['Expected a list of items but got type "int".'] });
  });
});
