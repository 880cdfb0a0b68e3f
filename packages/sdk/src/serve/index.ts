export {
  createServeMultiplexedModelId,
  decodeServeMultiplexedModelId,
  MultiplexTokenError,
  type ServeModelClaims,
} from './multiplex-token.ts';
