/** Every backend route module, one per resource family (mirroring the SDK's clients). */
import type { FastifyInstance } from 'fastify';
import type { DevContext } from '../context.ts';
import agents from './agents.ts';
import assignments from './assignments.ts';
import chunkedUpload from './chunked-upload.ts';
import dataCollections from './data-collections.ts';
import dataUnits from './data-units.ts';
import emulator from './emulator.ts';
import groundTruth from './ground-truth.ts';
import jobs from './jobs.ts';
import logs from './logs.ts';
import media from './media.ts';
import models from './models.ts';
import plugins from './plugins.ts';
import presignedUpload from './presigned-upload.ts';
import projects from './projects.ts';
import serveApplications from './serve-applications.ts';
import storages from './storages.ts';
import tasks from './tasks.ts';
import users from './users.ts';

export type RouteModule = (app: FastifyInstance, ctx: DevContext) => void | Promise<void>;

export const ROUTES: RouteModule[] = [
  users,
  projects,
  tasks,
  assignments,
  dataCollections,
  dataUnits,
  chunkedUpload,
  presignedUpload,
  models,
  groundTruth,
  plugins,
  jobs,
  logs,
  media,
  serveApplications,
  agents,
  storages,
  emulator,
];
