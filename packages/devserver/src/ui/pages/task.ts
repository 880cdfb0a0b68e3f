/**
 * `/ui/tasks/:id`: the task's image with its boxes drawn over it, and its objects as a table.
 *
 * The overlay is an SVG on top of the image whose viewBox is the image's natural size, so boxes
 * in image pixels scale with the image. The server knows that size when the data unit's meta
 * says; otherwise (and always, to be exact) the dashboard script sets it once the image loads.
 */
import type { DevContext } from '../../context.ts';
import { notFound } from '../../errors.ts';
import {
  confidenceText,
  type Image,
  primaryImage,
  type TaskObject,
  taskObjects,
  taskStatus,
} from '../annotations.ts';
import { DASH, facts, heading, link, section, table, when } from '../components.ts';
import { type Html, html, layout, uiPath } from '../html.ts';

/** Box colours: one per class, from a palette the stylesheet defines (`.c0` … `.c7`). */
const PALETTE_SIZE = 8;

function colourClass(classId: unknown): string {
  const n = Number(classId);
  return `c${Number.isInteger(n) ? Math.abs(n) % PALETTE_SIZE : 0}`;
}

function boxLabel(o: TaskObject): string {
  return [o.label, confidenceText(o.confidence)].filter(Boolean).join(' ');
}

function overlay(image: Image, objects: TaskObject[]): Html {
  const sized = image.width !== null && image.height !== null;
  const viewBox = sized ? `0 0 ${image.width} ${image.height}` : null;
  // Label size relative to the image width, so it reads the same at any image size.
  const fontSize = sized ? Math.max(4, Math.round(image.width! / 45)) : null;
  const boxes = objects
    .filter((o) => o.box)
    .map((o) => {
      const b = o.box!;
      // Above the box when there is room, inside its top edge otherwise.
      return html`<g class="${colourClass(o.classId)}" data-object="${o.id}">
<rect x="${b.x}" y="${b.y}" width="${b.width}" height="${b.height}" vector-effect="non-scaling-stroke"></rect>
<text x="${b.x}" y="${b.y}" dy="-0.3em" class="box-label">${boxLabel(o)}</text>
</g>`;
    });
  return html`<figure class="overlay" data-overlay>
<img src="${image.href}" alt="${image.name}">
<svg xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="none"${viewBox && html` viewBox="${viewBox}"`}${fontSize && html` font-size="${fontSize}"`}>${boxes}</svg>
</figure>`;
}

function objectsTable(objects: TaskObject[]): Html {
  return table(
    ['ID', 'Label', 'Class', 'Type', 'Confidence', 'Box (x, y, width × height)'],
    objects.map((o) => [
      o.id,
      html`<span class="swatch ${colourClass(o.classId)}"></span>${o.label}`,
      o.classId === null ? DASH : String(o.classId),
      o.type,
      confidenceText(o.confidence) || DASH,
      o.box ? `${o.box.x}, ${o.box.y}, ${o.box.width} × ${o.box.height}` : DASH,
    ]),
    'No annotations yet.',
  );
}

export async function taskPage(ctx: DevContext, id: string): Promise<Html> {
  const { tasks, projects, data_units, data_collections } = ctx.collections;
  const task = await tasks.get(id);
  if (!task) throw notFound();
  const project = task.project == null ? null : await projects.get(task.project);
  const unit = task.data_unit == null ? null : await data_units.get(task.data_unit);
  const collectionId = unit?.data_collection ?? task.data_collection;
  const collection = collectionId == null ? null : await data_collections.get(collectionId);
  const image = primaryImage(collection, unit, ctx.media);
  const objects = taskObjects(task.data);
  const projectTitle = project ? project.title || `Project ${project.id}` : null;
  const crumbs: Array<[string, string]> = [['Projects', '/ui/projects']];
  if (project) crumbs.push([projectTitle!, uiPath('projects', project.id)]);

  const content = html`${heading(`Task ${task.id}`, image?.name || undefined, crumbs)}
<div class="split">
${section(
  'Image',
  image ? overlay(image, objects) : html`<p class="empty">This task's data unit has no image to show.</p>`,
)}
${section(
  'Task',
  facts([
    ['Status', taskStatus(task)],
    ['Project', project ? link(uiPath('projects', project.id), projectTitle) : DASH],
    ['Data unit', task.data_unit],
    ['Data collection', collection?.name],
    ['Objects', objects.length],
    ['Created', when(task.created_at)],
    ['Modified', when(task.modified)],
  ]),
)}
</div>
${section('Objects', objectsTable(objects))}`;
  return layout(`Task ${task.id}`, 'projects', content);
}
