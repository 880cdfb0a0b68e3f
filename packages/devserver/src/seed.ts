/**
 * The demo data set: street-scene images with box annotations in a project whose tasks are all
 * pending, ready for the ToTask `file` method. Created through the same code as the API, so it
 * looks exactly like uploaded data.
 */
import type { DevContext } from './context.ts';
import { addCondition, emptyWhere } from './db/filters.ts';
import { type Rect, type Rgb, rectanglesPng } from './png.ts';
import { createDataUnits, storeDataFile } from './routes/data-units.ts';
import { createTasks } from './routes/tasks.ts';

export const DEMO_PROJECT_TITLE = 'Demo: street scenes';
const UNITS = 12;
const WIDTH = 160;
const HEIGHT = 120;
/** Every fourth unit has no annotation file: ToTask must report those tasks as failed. */
const hasAnnotation = (i: number) => i % 4 !== 3;

const FILE_SPECIFICATIONS = [
  {
    id: 1,
    name: 'image_1',
    description: 'Street image',
    file_type: 'image',
    is_required: true,
    is_primary: true,
    is_sequential: false,
    function_type: 'main',
    index: 1,
    extensions: ['.png', '.jpg'],
  },
  {
    id: 2,
    name: 'annotation_data',
    description: 'Boxes to import as task data',
    file_type: 'data',
    is_required: false,
    is_primary: false,
    is_sequential: false,
    function_type: 'sub',
    index: 1,
    extensions: ['.json'],
  },
];

/** Scene `i`: sky and road, a car (class 1) and, in every other scene, a pedestrian (class 2). */
function scene(i: number): { background: Rgb; rects: Rect[]; classes: number[] } {
  const road: Rect = { x: 0, y: 70, width: WIDTH, height: HEIGHT - 70, color: [90, 90, 96] };
  const car: Rect = {
    x: 8 + ((i * 37) % 100),
    y: 62,
    width: 44,
    height: 24,
    color: [200 - i * 12, 40 + i * 15, 60],
  };
  const person: Rect = { x: 130 - ((i * 23) % 60), y: 48, width: 10, height: 34, color: [240, 200, 40] };
  const withPerson = i % 2 === 0;
  return {
    background: [110 + i * 8, 170, 235 - i * 5],
    rects: withPerson ? [road, car, person] : [road, car],
    classes: withPerson ? [1, 2] : [1],
  };
}

function annotation(rects: Rect[], classes: number[]) {
  return {
    objects: classes.map((classId, n) => {
      const { x, y, width, height } = rects[n + 1]; // rects[0] is the road
      return {
        id: `obj_${n + 1}`,
        class_id: classId,
        type: 'bbox',
        coordinates: { x, y, width, height },
        properties: {},
      };
    }),
  };
}

export async function seedDemo(
  ctx: DevContext,
): Promise<{ project: number; dataCollection: number; tasks: number }> {
  const { projects, tasks, data_collections } = ctx.collections;
  const byTitle = emptyWhere();
  addCondition(byTitle, `(doc->>'title') = $?`, DEMO_PROJECT_TITLE);
  const existing = await projects.findOne(byTitle);
  if (existing) {
    // The demo project is created with its collection; one without it was edited by hand.
    if (existing.data_collection === null)
      throw new Error(`The demo project "${DEMO_PROJECT_TITLE}" has no data collection`);
    const ofProject = emptyWhere();
    addCondition(ofProject, `(doc->>'project') = $?`, String(existing.id));
    return {
      project: existing.id as number,
      dataCollection: existing.data_collection,
      tasks: await tasks.count(ofProject),
    };
  }

  const collection = await data_collections.create({
    name: 'Demo street images',
    category: 'image',
    description: 'Generated street scenes with box annotations',
    file_specifications: FILE_SPECIFICATIONS,
  });
  const items = [];
  for (let i = 0; i < UNITS; i++) {
    const name = `street_${String(i + 1).padStart(2, '0')}`;
    const { background, rects, classes } = scene(i);
    const image = await storeDataFile(ctx, `${name}.png`, rectanglesPng(WIDTH, HEIGHT, background, rects));
    const files: Record<string, { checksum: string }> = { image_1: { checksum: image.checksum } };
    if (hasAnnotation(i)) {
      const json = Buffer.from(JSON.stringify(annotation(rects, classes), null, 2));
      files.annotation_data = { checksum: (await storeDataFile(ctx, `${name}.json`, json)).checksum };
    }
    items.push({
      data_collection: collection.id,
      meta: { filename: `${name}.png`, width: WIDTH, height: HEIGHT },
      files,
    });
  }
  const units = await createDataUnits(ctx, items);
  const project = await projects.create({
    title: DEMO_PROJECT_TITLE,
    category: 'image',
    description: 'Demo project: import the annotation files with ToTask (method "file").',
    data_collection: collection.id,
    configuration: { schema_type: 'dm_schema', classification: {} },
  });
  const created = await createTasks(ctx, {
    project: project.id,
    data: units.map((u) => ({ data_unit: u.id })),
  });
  return { project: project.id as number, dataCollection: collection.id as number, tasks: created.length };
}
