/**
 * The records the devserver stores, typed by the contract (synapse-core): a family listed here is
 * stored in its wire shape, so a route reads `model.file` or `job.status` with the contract's type.
 * Families not listed yet keep the loose `Doc`.
 */
import type {
  AgentContainer,
  Job,
  Model,
  Plugin,
  PluginRelease,
  Project,
  ServeApplication,
} from 'synapse-core';
import type { Collection, Doc } from './collection.ts';
import type { ResourceName } from './resources.ts';

interface ContractRecords {
  agent_containers: AgentContainer;
  models: Model;
  projects: Project;
  plugins: Plugin;
  plugin_releases: PluginRelease;
  jobs: Job;
  serve_applications: ServeApplication;
}

/** A stored record of a family: its wire shape, plus the keys the table adds (always `id`). */
export type StoredRecord<K extends ResourceName> = K extends keyof ContractRecords
  ? ContractRecords[K] & Doc
  : Doc;

export type Collections = { [K in ResourceName]: Collection<StoredRecord<K>> };
