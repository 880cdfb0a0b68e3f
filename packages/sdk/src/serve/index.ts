export { type ServeApp, type ServeBackend, serveBackendOf } from './backend.ts';
export {
  callServeApp,
  releaseChecksum,
  releaseRoutePrefix,
  SERVE_HTTP_METHODS,
  type ServeCall,
  type ServeModelSelection,
} from './call.ts';
export {
  BaseServeDeployment,
  currentMultiplexedModelId,
  isServeDeploymentClass,
  runInServeRequest,
  type ServeReplicaContext,
  type ServeRequest,
  ServeRequestError,
  type ServeRoute,
  type ServeRouteMethod,
  serveReplicaContext,
} from './deployment.ts';
export {
  LocalServeBackend,
  type LocalServeBackendOptions,
  MULTIPLEX_HEADER,
} from './local-backend.ts';
export {
  createServeMultiplexedModelId,
  decodeServeMultiplexedModelId,
  MultiplexTokenError,
  type ServeModelClaims,
} from './multiplex-token.ts';
export {
  REST_API_MODULE,
  RestApiDeployment,
  type RestApiPlugin,
  restApiActions,
  restApiDeployment,
} from './rest-api.ts';
