/** TODO(foundation): the Agent API (backend-api.md §14), served under `agent/`. */
import type { RouteModule } from '../routes/index.ts';

const routes: RouteModule = () => {};
export default routes;
