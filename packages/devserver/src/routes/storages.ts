/**
 * Storages (backend-api.md §13). A storage's `configuration` (credentials, locations) appears
 * only when asked for with `with_configuration=true`.
 */
import type { FastifyRequest } from 'fastify';
import { getOr404, listResponse, present, queryParam } from '../context.ts';
import type { Doc } from '../db/collection.ts';
import { parseValue } from '../db/filters.ts';
import type { RouteModule } from './index.ts';

function withConfiguration(req: FastifyRequest): boolean {
  const value = queryParam(req, 'with_configuration');
  return value ? (parseValue('with_configuration', 'bool', value) as boolean) : false;
}

function serialize(req: FastifyRequest, storage: Doc): Doc {
  if (withConfiguration(req)) return storage;
  const { configuration: _hidden, ...rest } = storage;
  return rest as Doc;
}

const routes: RouteModule = (app, ctx) => {
  const storages = ctx.collections.storages;

  app.get('/storages/', (req) =>
    listResponse(ctx, req, storages, { serialize: (docs) => docs.map((d) => serialize(req, d)) }),
  );

  app.get('/storages/:id/', async (req) =>
    present(ctx, req, serialize(req, await getOr404(storages, (req.params as { id: string }).id))),
  );
};
export default routes;
