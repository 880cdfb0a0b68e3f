import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NotFoundError, type Task, ValidationError } from '../../src/index.ts';
import { SIGNED_QUERY, useSharedPlatform } from '../helpers.ts';

// On the shared platform: every test works in a project of its own and lists by it.
const h = useSharedPlatform();

const SPECS = [
  { name: 'image_1', file_type: 'image', is_primary: true, is_required: true },
  { name: 'annotation_data', file_type: 'data', is_primary: false, is_required: false },
];

async function fixtures(body: Record<string, unknown[]>): Promise<Record<string, number[]>> {
  return h.admin('POST', '_emulator/fixtures', body);
}

/** A project on a new collection with `n` data units (fixtures: their files are not real). */
async function projectWithUnits(n: number) {
  const [collection] = (await fixtures({ data_collections: [{ name: 'C', file_specifications: SPECS }] }))
    .data_collections;
  const [project] = (await fixtures({ projects: [{ title: 'P', data_collection: collection }] })).projects;
  const units = n
    ? (await fixtures({ data_units: Array.from({ length: n }, () => ({ data_collection: collection })) }))
        .data_units
    : [];
  return { collection, project, units };
}

let dir: string | undefined;
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});
async function tempFile(name: string, bytes: Buffer | string): Promise<string> {
  dir ??= await mkdtemp(join(tmpdir(), 'sdk-annotation-'));
  const path = join(await mkdtemp(join(dir, 'f-')), name);
  await writeFile(path, bytes);
  return path;
}

const md5 = (bytes: Buffer | string) => createHash('md5').update(bytes).digest('hex');

describe('ProjectsClientMixin: projects', () => {
  it('gets a project with its data collection and live task count', async () => {
    const { collection, project, units } = await projectWithUnits(3);
    expect(await h.client.getProject(project)).toMatchObject({
      id: project,
      title: 'P',
      category: 'image',
      data_collection: collection,
      is_archived: false,
      task_count: 0,
    });
    await h.client.createTasks({ project, data: units.map((u) => ({ data_unit: u })) });
    expect((await h.client.getProject(project)).task_count).toBe(3);
  });

  it('answers 404 for an unknown project', async () => {
    const err = await h.client.getProject(999_999).catch((e) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.detail).toEqual({ detail: 'Not found.' });
  });
});

describe('TasksClientMixin: tasks', () => {
  it('creates one task per data unit, copies the data collection and skips duplicates', async () => {
    const { collection, project, units } = await projectWithUnits(3);
    const created = await h.client.createTasks({
      project,
      data: [{ data_unit: units[0] }, { data_unit: units[1] }, { data_unit: units[0] }],
    });
    expect(created).toHaveLength(2);
    expect(created[0]).toEqual({
      id: expect.any(Number),
      project,
      data_collection: collection,
      data_unit: units[0],
      status: 'pending',
      assignee: null,
      data: {},
      tags: [],
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$/),
      modified: expect.any(String),
    });
    const again = await h.client.createTasks({ project, data: units.map((u) => ({ data_unit: u })) });
    expect(again.map((t) => t.data_unit)).toEqual([units[2]]);
    const [, total] = await h.client.listTasks({ project });
    expect(total).toBe(3);
  });

  it('creates tasks for the same units concurrently without duplicates', async () => {
    const { project, units } = await projectWithUnits(5);
    const data = units.map((u) => ({ data_unit: u }));
    const results = await Promise.all([1, 2, 3].map(() => h.client.createTasks({ project, data })));
    expect(results.flat()).toHaveLength(5);
  });

  it('rejects bad task creation bodies with field errors', async () => {
    const { project } = await projectWithUnits(0);
    const bodies: Array<[unknown, unknown]> = [
      [{ data: [] }, { project: ['This field is required.'] }],
      [{ project: 999_999, data: [] }, { project: ['Invalid pk "999999" - object does not exist.'] }],
      [{ project }, { data: ['This field is required.'] }],
      [{ project, data: { data_unit: 1 } }, { data: ['Expected a list of items but got type "dict".'] }],
      [{ project, data: [{}] }, { data_unit: ['This field is required.'] }],
      [
        { project, data: [{ data_unit: 999_999 }] },
        { data_unit: ['Invalid pk "999999" - object does not exist.'] },
      ],
    ];
    for (const [body, detail] of bodies) {
      const err = await h.client.createTasks(body as any).catch((e) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect(err.detail).toEqual(detail);
    }
  });

  it('gets a task with fields and the expanded data unit, files keyed by specification', async () => {
    const [collection] = (
      await fixtures({ data_collections: [{ name: 'Real', file_specifications: SPECS }] })
    ).data_collections;
    const [project] = (await fixtures({ projects: [{ title: 'Real', data_collection: collection }] }))
      .projects;
    const png = Buffer.from('not really a png');
    const json = JSON.stringify({ objects: [] });
    const image = await h.client.createDataFile(await tempFile('a.jpg', png));
    const annotation = await h.client.createDataFile(await tempFile('a.json', json));
    const unit = await h.client.createDataUnits({
      data_collection: collection,
      meta: { filename: 'a.jpg' },
      files: {
        image_1: { checksum: image.checksum, path: image.file },
        annotation_data: { checksum: annotation.checksum, path: annotation.file },
      },
    });
    const [task] = await h.client.createTasks({ project, data: [{ data_unit: unit.id }] });

    const fetched = await h.client.getTask(task.id, {
      params: { fields: 'id,data,data_unit', expand: 'data_unit' },
    });
    expect(fetched).toEqual({
      id: task.id,
      data: {},
      data_unit: {
        id: unit.id,
        data_collection: collection,
        meta: { filename: 'a.jpg' },
        files: {
          image_1: {
            url: image.file,
            is_primary: true,
            file_name_original: 'a.jpg',
            checksum: md5(png),
            size: png.length,
          },
          annotation_data: {
            url: annotation.file,
            is_primary: false,
            file_name_original: 'a.json',
            checksum: md5(json),
            size: json.length,
          },
        },
      },
    });
    expect(image.file).toMatch(new RegExp(`^${h.server.url}/media/data_files/.+/a\\.jpg${SIGNED_QUERY}$`));
    expect(Buffer.from(await (await fetch(image.file)).arrayBuffer())).toEqual(png);

    expect(await h.client.getTask(task.id, { params: { fields: 'id,data_unit' } })).toEqual({
      id: task.id,
      data_unit: unit.id,
    });
    const [[listed]] = await h.client.listTasks({ project, expand: 'data_unit', fields: 'id,data_unit' });
    expect(listed).toEqual({ id: task.id, data_unit: fetched.data_unit });
  });

  it('answers 404 for an unknown task', async () => {
    await expect(h.client.getTask(999_999)).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('TasksClientMixin: task filters and pagination', () => {
  it('filters by project, status, status__in, assignee (null too), data collection and dates', async () => {
    const { collection, project, units } = await projectWithUnits(4);
    const other = await projectWithUnits(1);
    await fixtures({
      tasks: [
        {
          project,
          data_collection: collection,
          data_unit: units[0],
          status: 'pending',
          created_at: '2025-01-01T00:00:00Z',
        },
        {
          project,
          data_collection: collection,
          data_unit: units[1],
          status: 'in_progress',
          assignee: 5,
          created_at: '2025-02-01T00:00:00Z',
        },
        {
          project,
          data_collection: collection,
          data_unit: units[2],
          status: 'completed',
          assignee: 6,
          created_at: '2025-03-01T00:00:00Z',
        },
        {
          project,
          data_collection: collection,
          data_unit: units[3],
          status: 'skipped',
          created_at: '2025-04-01T00:00:00Z',
        },
        {
          project: other.project,
          data_collection: other.collection,
          data_unit: other.units[0],
          status: 'pending',
        },
      ],
    });
    const units$ = async (params: Record<string, any>) => {
      const [tasks] = await h.client.listTasks({ fields: 'id,data_unit', ...params });
      return tasks.map((t) => t.data_unit);
    };
    expect(await units$({ project })).toEqual(units);
    expect(await units$({ project, status: 'pending' })).toEqual([units[0]]);
    expect(await units$({ project, status__in: ['pending', 'in_progress'] })).toEqual(units.slice(0, 2));
    expect(await units$({ project, assignee: null })).toEqual([units[0], units[3]]);
    expect(await units$({ project, assignee: 6 })).toEqual([units[2]]);
    expect(await units$({ data_collection: other.collection })).toEqual(other.units);
    expect(await units$({ project, created_at__gte: '2025-02-01T00:00:00Z' })).toEqual(units.slice(1));
    expect(await units$({ project, created_at__lte: '2025-02-15' })).toEqual(units.slice(0, 2));
    expect(await units$({ project, unknown_filter: 'x' })).toEqual(units);
  });

  it('lists 250 tasks as pages, or all of them with listAll fetching page 1 once', async () => {
    const { project } = await projectWithUnits(0);
    await fixtures({
      tasks: Array.from({ length: 250 }, (_, i) => ({ project, data_unit: 100_000 + i })),
    });
    const [page, count] = await h.client.listTasks({ project });
    expect(count).toBe(250);
    expect(page).toHaveLength(100);

    const all = await h.client.listTasks({ project, fields: 'id' }, { listAll: true });
    expect(all.count).toBe(250);
    const tasks: Task[] = await all.toArray();
    expect(tasks).toHaveLength(250);
    expect(tasks[0]).toEqual({ id: expect.any(Number) });
    const ids = tasks.map((t) => t.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(250);

    const requests: Array<{ path: string; query: Record<string, string> }> = await h.admin(
      'GET',
      '_emulator/requests',
    );
    const pages = requests.filter(
      (r) => r.path === '/sdk/tasks/' && r.query.fields === 'id' && r.query.project === String(project),
    );
    expect(pages.map((r) => r.query.page ?? '1')).toEqual(['1', '2', '3']);

    const err = await h.client.listTasks({ project, page: 4 }).catch((e) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.detail).toEqual({ detail: 'Invalid page.' });
  });
});

describe('TasksClientMixin: annotation', () => {
  it('stores submitted data and bumps modified', async () => {
    const { project, units } = await projectWithUnits(1);
    const [task] = await h.client.createTasks({ project, data: [{ data_unit: units[0] }] });
    const data = {
      objects: [{ id: 'obj_1', class_id: 1, type: 'bbox', coordinates: { x: 1, y: 2, width: 3, height: 4 } }],
    };
    const updated = await h.client.annotateTaskData(task.id, { action: 'submit', data });
    expect(updated).toMatchObject({ id: task.id, data, status: 'pending' });
    expect(Date.parse(updated.modified)).toBeGreaterThan(Date.parse(task.modified));
    expect((await h.client.getTask(task.id)).data).toEqual(data);
  });

  it('rejects a bad action or missing data with DRF messages, and unknown tasks with 404', async () => {
    const { project, units } = await projectWithUnits(1);
    const [task] = await h.client.createTasks({ project, data: [{ data_unit: units[0] }] });
    const cases: Array<[unknown, unknown]> = [
      [{ action: 'x', data: {} }, { action: ['"x" is not a valid choice.'] }],
      [{ action: 'submit' }, { data: ['This field is required.'] }],
      [{ action: 'submit', data: [1] }, { data: ['This field is required.'] }],
      [{ data: {} }, { action: ['This field is required.'] }],
      [{ action: 'save' }, { action: ['"save" is not a valid choice.'], data: ['This field is required.'] }],
    ];
    for (const [body, detail] of cases) {
      const err = await h.client.annotateTaskData(task.id, body as any).catch((e) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect(err.detail).toEqual(detail);
    }
    expect((await h.client.getTask(task.id)).data).toEqual({});
    await expect(h.client.annotateTaskData(999_999, { action: 'submit', data: {} })).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });
});

describe('TasksClientMixin: task tags', () => {
  it('gets and lists task tags by project', async () => {
    const { project } = await projectWithUnits(0);
    const [reviewed, exported] = (
      await fixtures({
        task_tags: [
          { project, name: 'reviewed', color: '#00FF00' },
          { project, name: 'exported', category: 'export' },
          { project: project + 1000, name: 'elsewhere' },
        ],
      })
    ).task_tags;
    expect(await h.client.getTaskTag(reviewed)).toEqual({
      id: reviewed,
      project,
      name: 'reviewed',
      color: '#00FF00',
      category: 'project',
    });
    const [tags, count] = await h.client.listTaskTags({ project });
    expect(count).toBe(2);
    expect(tags.map((t) => t.id)).toEqual([reviewed, exported]);
    expect(tags[1]).toMatchObject({ color: '#FF0000', category: 'export' });
    await expect(h.client.getTaskTag(999_999)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('adds (by default) and removes tags on tasks', async () => {
    const { project, units } = await projectWithUnits(2);
    const tasks = await h.client.createTasks({ project, data: units.map((u) => ({ data_unit: u })) });
    const ids = tasks.map((t) => t.id);
    const [a, b] = (
      await fixtures({
        task_tags: [
          { project, name: 'a' },
          { project, name: 'b' },
        ],
      })
    ).task_tags;

    expect(await h.client.setTagsTasks({ ids, tags: [a, b] })).toEqual({ ids, tags: [a, b], action: 'add' });
    expect(await h.client.setTagsTasks({ ids: [ids[0]], tags: [a] })).toEqual({
      ids: [ids[0]],
      tags: [a],
      action: 'add',
    });
    expect((await h.client.getTask(ids[0])).tags).toEqual([a, b]);
    await h.client.setTagsTasks({ ids: [ids[1]], tags: [a], action: 'remove' });
    expect((await h.client.getTask(ids[1])).tags).toEqual([b]);
  });

  it('rejects unknown tasks, unknown tags and bad actions', async () => {
    const { project, units } = await projectWithUnits(1);
    const [task] = await h.client.createTasks({ project, data: [{ data_unit: units[0] }] });
    const [tag] = (await fixtures({ task_tags: [{ project, name: 't' }] })).task_tags;
    const cases: Array<[any, unknown]> = [
      [{ ids: [999_999], tags: [tag] }, { ids: ['Invalid pk "999999" - object does not exist.'] }],
      [{ ids: [task.id], tags: [999_999] }, { tags: ['Invalid pk "999999" - object does not exist.'] }],
      [{ ids: [task.id], tags: [tag], action: 'toggle' }, { action: ['"toggle" is not a valid choice.'] }],
      [{ tags: [tag] }, { ids: ['This field is required.'] }],
    ];
    for (const [body, detail] of cases) {
      const err = await h.client.setTagsTasks(body).catch((e) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect(err.detail).toEqual(detail);
    }
    expect((await h.client.getTask(task.id)).tags).toEqual([]);
  });
});
