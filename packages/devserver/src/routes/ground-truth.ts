/**
 * Ground truth (backend-api.md §9): datasets, versions with their nested dataset and event count,
 * and the events (the large, streamed list).
 */
import type { FastifyRequest } from 'fastify';
import { type DevContext, dataListItem, filesListItem, getOr404, listResponse, present } from '../context.ts';
import type { Doc } from '../db/collection.ts';
import { addCondition, emptyWhere, parseValue, type Where } from '../db/filters.ts';
import type { RouteModule } from './index.ts';

type Query = Record<string, string | string[] | undefined>;

function ids(field: string, raw: string | string[] | undefined): string[] {
  const list = (Array.isArray(raw) ? raw : raw ? [raw] : []).flatMap((v) => v.split(',')).filter(Boolean);
  return list.map((v) => String(parseValue(field, 'int', v)));
}

/** The filters of events and ground truths that are not plain fields. */
function eventWhere(req: FastifyRequest): Where {
  const q = req.query as Query;
  const where = emptyWhere();
  const versions = ids('ground_truth_dataset_versions', q.ground_truth_dataset_versions);
  // One version (the common case) as `=`, so the (version, id) index also gives the page order.
  if (versions.length === 1) addCondition(where, `(doc->>'ground_truth_dataset_version') = $?`, versions[0]);
  else if (versions.length > 1)
    addCondition(where, `(doc->>'ground_truth_dataset_version') = ANY($?)`, versions);
  const datasets = ids('ground_truth_dataset', q.ground_truth_dataset);
  if (datasets.length > 0) {
    addCondition(
      where,
      `(doc->>'ground_truth_dataset_version')::int IN (SELECT id FROM ground_truth_dataset_versions WHERE (doc->>'ground_truth_dataset') = ANY($?))`,
      datasets,
    );
  }
  const after = typeof q.created_after === 'string' ? q.created_after : undefined;
  if (after)
    addCondition(
      where,
      `(doc->>'created_at')::timestamptz >= $?`,
      parseValue('created_after', 'datetime', after),
    );
  if (typeof q.data_type === 'string' && q.data_type) {
    addCondition(
      where,
      `COALESCE(doc->'data_unit'->>'id', doc->>'data_unit')::int IN (
         SELECT u.id FROM data_units u JOIN data_collections c ON (u.doc->>'data_collection')::int = c.id
         WHERE c.doc->>'category' = $?)`,
      q.data_type,
    );
  }
  if (typeof q.search === 'string' && q.search)
    addCondition(where, `(doc->'data')::text ILIKE '%' || $? || '%'`, q.search);
  return where;
}

/** Events carry their data unit as an object and mirror its files at the top level. */
async function serializeEvents(ctx: DevContext, docs: Doc[]): Promise<Doc[]> {
  const units = await ctx.collections.data_units.getMany(
    docs.filter((d) => typeof d.data_unit === 'number').map((d) => d.data_unit),
  );
  return docs.map((d) => {
    const unit = typeof d.data_unit === 'number' ? units.get(d.data_unit) : d.data_unit;
    const dataUnit = unit ? { id: unit.id, meta: unit.meta ?? {}, files: unit.files ?? {} } : d.data_unit;
    const files = d.files && Object.keys(d.files).length > 0 ? d.files : (dataUnit?.files ?? {});
    return { ...d, data_unit: dataUnit, files };
  });
}

async function serializeVersions(ctx: DevContext, docs: Doc[]): Promise<Doc[]> {
  const datasets = await ctx.collections.ground_truth_datasets.getMany(
    docs.map((d) => d.ground_truth_dataset),
  );
  return Promise.all(
    docs.map(async (d) => {
      const dataset = datasets.get(d.ground_truth_dataset);
      const events = emptyWhere();
      addCondition(events, `(doc->>'ground_truth_dataset_version') = $?`, String(d.id));
      return {
        ...d,
        ground_truth_dataset: dataset
          ? { id: dataset.id, name: dataset.name, project: dataset.project }
          : d.ground_truth_dataset,
        event_count: await ctx.collections.ground_truth_events.count(events),
      };
    }),
  );
}

const routes: RouteModule = (app, ctx) => {
  const {
    ground_truth_datasets: datasets,
    ground_truth_dataset_versions: versions,
    ground_truth_events: events,
  } = ctx.collections;
  const idOf = (req: FastifyRequest) => (req.params as { id: string }).id;

  app.get('/ground_truth_datasets/', (req) => listResponse(ctx, req, datasets));
  app.get('/ground_truth_datasets/:id/', async (req) =>
    present(ctx, req, await getOr404(datasets, idOf(req))),
  );

  app.get('/ground_truth_dataset_versions/', (req) =>
    listResponse(ctx, req, versions, { serialize: (docs) => serializeVersions(ctx, docs) }),
  );
  app.get('/ground_truth_dataset_versions/:id/', async (req) => {
    const [version] = await serializeVersions(ctx, [await getOr404(versions, idOf(req))]);
    return present(ctx, req, version);
  });

  app.get('/sdk/ground_truth_events/', (req) =>
    listResponse(ctx, req, events, {
      where: eventWhere(req),
      serialize: (docs) => serializeEvents(ctx, docs),
    }),
  );

  // The lighter views (list_ground_truth_events_data / _files of the Python SDK).
  app.get('/sdk/ground_truth_events/data/', (req) =>
    listResponse(ctx, req, events, { where: eventWhere(req), serialize: (docs) => docs.map(dataListItem) }),
  );

  app.get('/sdk/ground_truth_events/files/', (req) =>
    listResponse(ctx, req, events, {
      where: eventWhere(req),
      serialize: async (docs) => (await serializeEvents(ctx, docs)).map((e) => filesListItem(e, e.files)),
    }),
  );

  app.get('/ground_truths/', (req) =>
    listResponse(ctx, req, events, {
      where: eventWhere(req),
      serialize: async (docs) => {
        const withUnits = await serializeEvents(ctx, docs);
        const vs = await versions.getMany(docs.map((d) => d.ground_truth_dataset_version));
        return withUnits.map((d) => ({
          ...d,
          ground_truth_dataset: vs.get(d.ground_truth_dataset_version)?.ground_truth_dataset ?? null,
        }));
      },
    }),
  );
};
export default routes;
