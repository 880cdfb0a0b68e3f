/** Projects (ProjectsClientMixin; client.md §8.1; contract: synapse-core projects.ts). */
import type { Project } from 'synapse-core';
import type { BackendClient } from './index.ts';

export type { Project };

export interface ProjectsClientMixin {
  getProject(projectId: number): Promise<Project>;
}

export const projectsMethods: ProjectsClientMixin & ThisType<BackendClient> = {
  getProject(projectId) {
    return this.get<Project>(`projects/${projectId}/`, { schema: 'project' });
  },
};
