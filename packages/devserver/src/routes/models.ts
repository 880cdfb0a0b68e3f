/** Models (backend-api.md §8): list with filters, detail, create from a chunked upload. */
import { modelCreateSchema } from 'synapse-core';
import { getOr404, listResponse, present } from '../context.ts';
import { addCondition, emptyWhere, parseValue } from '../db/filters.ts';
import { badRequest } from '../errors.ts';
import { validBody } from '../validate.ts';
import { claimChunkedUpload } from './chunked-upload.ts';
import type { RouteModule } from './index.ts';

const WRITABLE = [
  'name',
  'description',
  'model_type',
  'project',
  'plugin',
  'version',
  'category',
  'metrics',
  'configuration',
  'is_active',
  'parent',
];

const routes: RouteModule = (app, ctx) => {
  const models = ctx.collections.models;

  app.get('/models/', (req) => {
    const where = emptyWhere();
    const after = (req.query as Record<string, string>).created_after;
    if (after)
      addCondition(
        where,
        `(doc->>'created_at')::timestamptz >= $?`,
        parseValue('created_after', 'datetime', after),
      );
    return listResponse(ctx, req, models, { where });
  });

  app.get('/models/:id/', async (req) =>
    present(ctx, req, await getOr404(models, (req.params as { id: string }).id)),
  );

  app.post('/models/', async (req, reply) => {
    // The contract's create body: every writable field with its wire type (backend-api.md §8).
    const body = validBody(modelCreateSchema, req.body);
    if (
      body.project !== undefined &&
      body.project !== null &&
      !(await ctx.collections.projects.get(body.project))
    ) {
      throw badRequest({ project: [`Invalid pk "${body.project}" - object does not exist.`] });
    }
    const values = Object.fromEntries(WRITABLE.filter((k) => body[k] !== undefined).map((k) => [k, body[k]]));
    let model = await models.create(values);
    if (body.chunked_upload !== undefined && body.chunked_upload !== null) {
      try {
        const file = await claimChunkedUpload(
          ctx,
          'chunked_upload',
          body.chunked_upload,
          (name) => `models/${model.id}/${name}`,
        );
        model = (await models.update(model.id, { file: file.ref }))!;
      } catch (err) {
        await models.remove(model.id);
        throw err;
      }
    }
    return reply.code(201).send(present(ctx, req, model));
  });
};
export default routes;
