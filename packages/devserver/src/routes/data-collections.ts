/**
 * Data collections (backend-api.md §5). A collection stores its file specifications inline.
 *
 * Without `expand=file_specifications`, `file_specifications` is the list of the specs' ids: the
 * platform's expandable fields render a relation as its primary keys until it is expanded, and
 * the SDK always expands, so nothing depends on the embedded objects without it.
 */
import type { FastifyRequest } from 'fastify';
import type { FileSpecification } from 'synapse-sdk';
import { expansions, getOr404, listResponse, present } from '../context.ts';
import type { Doc } from '../db/collection.ts';
import type { RouteModule } from './index.ts';

/**
 * A collection's specifications with every field present. Fixtures may give partial specs: a
 * missing id is the spec's position (ids are only ever read back, never referenced).
 */
export function fileSpecifications(collection: Doc): FileSpecification[] {
  const specs = Array.isArray(collection.file_specifications) ? collection.file_specifications : [];
  return specs.map((spec: Partial<FileSpecification>, i: number) => ({
    id: i + 1,
    description: '',
    file_type: 'image',
    is_required: true,
    is_primary: false,
    is_sequential: false,
    function_type: spec.is_primary ? 'main' : 'sub',
    index: 1,
    extensions: [],
    ...spec,
    name: String(spec.name ?? `file_${i + 1}`),
  }));
}

function serialize(req: FastifyRequest, collection: Doc): Doc {
  const specs = fileSpecifications(collection);
  const expanded = expansions(req).has('file_specifications');
  return { ...collection, file_specifications: expanded ? specs : specs.map((s) => s.id) };
}

const routes: RouteModule = (app, ctx) => {
  const collections = ctx.collections.data_collections;

  app.get('/data_collections/', (req) =>
    listResponse(ctx, req, collections, { serialize: (docs) => docs.map((d) => serialize(req, d)) }),
  );

  app.get('/data_collections/:id/', async (req) =>
    present(ctx, req, serialize(req, await getOr404(collections, (req.params as { id: string }).id))),
  );
};
export default routes;
