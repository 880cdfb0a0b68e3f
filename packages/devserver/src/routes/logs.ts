/** TODO(foundation): routes of backend-api.md for this family. */
import type { RouteModule } from './index.ts';

const routes: RouteModule = () => {};
export default routes;
