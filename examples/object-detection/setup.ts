/**
 * What the demo needs on a platform, each step reusing what a previous run left: a project of real
 * photos (with a hand-labelled ground-truth set for `test`), the published plugins and the model.
 * Projects, collections and ground truth are loaded with the emulator's fixtures (the platform API
 * has no endpoint that creates them); the photos go up through the SDK like any upload.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type BackendClient, NotFoundError, publishPlugin } from 'synapse-sdk';
import { demoPhotos } from './photos.ts';

export const PHOTO_PROJECT_TITLE = 'Photos: object detection';
export const ANNOTATIONS_FROM_FILES_DIR = join(import.meta.dirname, '../annotations-from-files');
export const OBJECT_DETECTION_DIR = import.meta.dirname;

const IMAGE_SPEC = {
  id: 1,
  name: 'image_1',
  description: 'Photo',
  file_type: 'image',
  is_required: true,
  is_primary: true,
  is_sequential: false,
  function_type: 'main',
  index: 1,
  extensions: ['.jpg', '.png'],
};

/** People in the first six photos, boxed by hand (pixels of each photo): class 1 = person. */
export const LABELLED: Record<string, Array<[number, number, number, number]>> = {
  'photo_01.jpg': [[25, 3, 100, 152]],
  'photo_02.jpg': [[5, 5, 140, 153]],
  'photo_03.jpg': [[62, 5, 138, 130]],
  'photo_04.jpg': [[22, 8, 50, 147]],
  'photo_05.jpg': [[65, 10, 70, 148]],
  'photo_06.jpg': [[22, 12, 46, 128]],
};

export interface PhotoProject {
  project: number;
  dataCollection: number;
  tasks: number;
  groundTruthVersion: number;
}

type Fixtures = Record<string, Array<Record<string, unknown>>>;
const load = (client: BackendClient, fixtures: Fixtures) =>
  client.post<Record<string, number[]>>('_emulator/fixtures', { data: fixtures });

async function existingProject(client: BackendClient): Promise<PhotoProject | null> {
  const { results } = await client.get<{ results: Array<Record<string, any>> }>('projects/', {
    params: { title: PHOTO_PROJECT_TITLE },
  });
  const project = results.find((p) => p.title === PHOTO_PROJECT_TITLE);
  if (!project) return null;
  const [, tasks] = await client.listTasks({ project: project.id });
  const [versions] = await client.listGroundTruthVersions({ ground_truth_dataset__project: project.id });
  return {
    project: project.id,
    dataCollection: project.data_collection,
    tasks,
    groundTruthVersion: versions[0]?.id ?? 0,
  };
}

/** The photo project: one pending task per photo, and a ground-truth version of the labelled ones. */
export async function seedPhotoProject(client: BackendClient, workDir: string): Promise<PhotoProject> {
  const existing = await existingProject(client);
  if (existing) return existing;

  const {
    data_collections: [dataCollection],
  } = await load(client, {
    data_collections: [
      { name: 'Photos', category: 'image', description: 'Real photos', file_specifications: [IMAGE_SPEC] },
    ],
  });
  const {
    projects: [project],
  } = await load(client, {
    projects: [
      {
        title: PHOTO_PROJECT_TITLE,
        category: 'image',
        description: 'Pre-annotate with ToTask (method "inference") and the object-detection plugin.',
        data_collection: dataCollection,
        configuration: { schema_type: 'dm_schema', classification: {} },
      },
    ],
  });

  const photos = await demoPhotos();
  const items = [];
  for (const photo of photos) {
    const path = join(workDir, photo.name);
    await writeFile(path, photo.jpeg);
    items.push({
      files: { image_1: path },
      meta: { filename: photo.name, width: photo.width, height: photo.height },
    });
  }
  const { dataUnits, tasksCreated } = await client.uploadDataCollection(dataCollection, items, {
    projectId: project,
  });

  const {
    ground_truth_datasets: [dataset],
  } = await load(client, { ground_truth_datasets: [{ name: 'People (hand-labelled)', project }] });
  const {
    ground_truth_dataset_versions: [version],
  } = await load(client, {
    ground_truth_dataset_versions: [{ ground_truth_dataset: dataset, version: 'v1', description: '' }],
  });
  const events = dataUnits
    .filter((unit) => String(unit.meta?.filename) in LABELLED)
    .map((unit) => ({
      ground_truth_dataset_version: version,
      category: 'image',
      data_unit: unit.id,
      data: {
        objects: LABELLED[String(unit.meta?.filename)].map(([x, y, width, height], i) => ({
          id: `gt_${i + 1}`,
          class_id: 1,
          type: 'bbox',
          coordinates: { x, y, width, height },
          properties: { label: 'person' },
        })),
      },
    }));
  await load(client, { ground_truth_events: events });
  return { project, dataCollection, tasks: tasksCreated, groundTruthVersion: version };
}

/** The plugin's release of its config's version: published once, republished when its files changed. */
export async function ensurePublished(client: BackendClient, pluginDir: string): Promise<number> {
  const quiet = { warn: () => {} };
  const built = await publishPlugin(pluginDir, { client, dryRun: true, ...quiet });
  const plugin = await client.getPlugin(built.code).catch((err) => {
    if (err instanceof NotFoundError) return null;
    throw err;
  });
  const [releases] = plugin ? await client.listPluginReleases({ plugin: plugin.id }) : [[]];
  const release = releases.find((r) => r.version === built.version);
  if (release && release.archive_checksum === built.checksum) return release.id;
  return (await publishPlugin(pluginDir, { client, debug: Boolean(release), ...quiet })).release_id;
}
