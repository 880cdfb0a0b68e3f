/**
 * GroundTruthClientMixin against a real devserver: 10,000 events paged, filtered and downloaded.
 * Own server: its listAll proof clears the recorded-request log and counts every page request in it.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError } from '../../src/index.ts';
import { useDevServer } from '../helpers.ts';

const h = useDevServer();
const EVENTS = 10_000;
let version: number;
let otherVersion: number;

beforeAll(async () => {
  const {
    ground_truth_datasets: [dataset],
  } = await h.admin('POST', '_emulator/fixtures', {
    ground_truth_datasets: [{ name: 'Street GT', project: null }],
  });
  const ids = await h.admin('POST', '_emulator/fixtures', {
    ground_truth_dataset_versions: [
      { version: 'v1', ground_truth_dataset: dataset, statistics: { train: 8000 } },
      { version: 'v2', ground_truth_dataset: dataset },
    ],
  });
  [version, otherVersion] = ids.ground_truth_dataset_versions;
  const events = Array.from({ length: EVENTS }, (_, i) => ({
    ground_truth_dataset_version: version,
    category: i % 10 === 0 ? 'test' : 'train',
    data: { annotations: { image_1: [{ label: `car-${i}` }] } },
    files: {
      image_1: {
        url: `${h.server.url}/media/none/${i}.jpg`,
        is_primary: true,
        file_name_original: `${i}.jpg`,
      },
    },
  }));
  events.push({
    ground_truth_dataset_version: otherVersion,
    category: 'validation',
    data: {} as any,
    files: {} as any,
  });
  await h.admin('POST', '_emulator/fixtures', { ground_truth_events: events });
});

describe('GroundTruthClientMixin: ground truth', () => {
  it('returns one page as [items, totalCount]', async () => {
    const [events, total] = await h.client.listGroundTruthEvents({
      ground_truth_dataset_versions: [version],
    });
    expect(total).toBe(EVENTS);
    expect(events).toHaveLength(100);
    expect(events[0]).toMatchObject({ ground_truth_dataset_version: version, category: 'test' });
  });

  it(`streams all ${EVENTS} events with listAll, fetching page 1 once`, async () => {
    await h.admin('DELETE', '_emulator/requests');
    const all = await h.client.listGroundTruthEvents(
      { ground_truth_dataset_versions: [version] },
      { listAll: true },
    );
    expect(all.count).toBe(EVENTS);
    let n = 0;
    let last = 0;
    for await (const event of all) {
      expect(event.id).toBeGreaterThan(last);
      last = event.id;
      n++;
    }
    expect(n).toBe(EVENTS);
    const requests: Array<{ path: string; query: Record<string, string> }> = await h.admin(
      'GET',
      '_emulator/requests',
    );
    const pages = requests
      .filter((r) => r.path === '/sdk/ground_truth_events/')
      .map((r) => r.query.page ?? '1');
    expect(pages.filter((p) => p === '1')).toHaveLength(1);
    expect(new Set(pages).size).toBe(pages.length);
    expect(() => all[Symbol.asyncIterator]()).toThrow('PaginatedIterable can only be iterated once');
  });

  it('filters events by category, comma-joined versions and created_after', async () => {
    const [, tests] = await h.client.listGroundTruthEvents({
      ground_truth_dataset_versions: [version],
      category: 'test',
    });
    expect(tests).toBe(EVENTS / 10);
    const [, both] = await h.client.listGroundTruthEvents({
      ground_truth_dataset_versions: `${version},${otherVersion}`,
    });
    expect(both).toBe(EVENTS + 1);
    const [, future] = await h.client.listGroundTruthEvents({ created_after: '2999-01-01T00:00:00Z' });
    expect(future).toBe(0);
  });

  it('converts file URLs with a function on every page', async () => {
    const all = await h.client.listGroundTruthEvents(
      { ground_truth_dataset_versions: [version], page_size: 50 },
      {
        listAll: true,
        urlConversion: { files: (u) => u.replace(/^http:\/\/[^/]+/, 'https://cdn.example.com') },
      },
    );
    const items = (await all.toArray()).slice(0, 120);
    for (const e of items)
      expect((e.files as any).image_1.url).toMatch(/^https:\/\/cdn\.example\.com\/media\/none\//);
  });

  it('downloads files with the download form and replaces url by path', async () => {
    const [project] = (await h.admin('POST', '_emulator/fixtures', { projects: [{ title: 'GT files' }] }))
      .projects;
    const model = await h.client.createModel({
      name: 'blob',
      project,
      file: await writeTemp('w.json', '{"a":1}'),
    });
    const [, n] = await h.client.listModels({ project });
    expect(n).toBe(1);
    const dir = await mkdtemp(join(tmpdir(), 'dl-'));
    const converted = await h.client.getModel(model.id, {
      urlConversion: { filesFields: ['file'], downloadDir: dir },
    });
    expect(converted.file).toMatch(new RegExp(`^${dir}/[0-9a-f]{32}\\.json$`));
    expect(await readFile(converted.file as string, 'utf8')).toBe('{"a":1}');
  });

  it('gets a version with its dataset and event count', async () => {
    const v = await h.client.getGroundTruthVersion(version);
    expect(v).toMatchObject({ id: version, version: 'v1', event_count: EVENTS, statistics: { train: 8000 } });
    expect(v.ground_truth_dataset).toMatchObject({ name: 'Street GT' });
    const [versions, total] = await h.client.listGroundTruthVersions({
      ground_truth_dataset: v.ground_truth_dataset.id,
    });
    expect(total).toBe(2);
    expect(versions[1].event_count).toBe(1);
    await expect(h.client.getGroundTruthVersion(987654)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('lists ground truths with their dataset', async () => {
    const v = await h.client.getGroundTruthVersion(otherVersion);
    const [items, total] = await h.client.listGroundTruths({ ground_truth_dataset_versions: [otherVersion] });
    expect(total).toBe(1);
    expect(items[0]).toMatchObject({
      category: 'validation',
      ground_truth_dataset: v.ground_truth_dataset.id,
    });
    const [, inDataset] = await h.client.listGroundTruths({
      ground_truth_dataset: v.ground_truth_dataset.id,
    });
    expect(inDataset).toBe(EVENTS + 1);
  });

  it('tells whether a list has items', async () => {
    expect(await h.client.exists('listGroundTruthVersions', { ground_truth_dataset: 999 })).toBe(false);
    expect(await h.client.exists('listGroundTruthEvents', { category: 'validation' })).toBe(true);
  });
});

async function writeTemp(name: string, text: string): Promise<string> {
  const path = join(await mkdtemp(join(tmpdir(), 'gt-')), name);
  await writeFile(path, text);
  return path;
}
