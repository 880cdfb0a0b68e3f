// What the SDK's build sees of synapse-devserver: the devserver depends on the SDK, so the SDK is
// built without it (`synapse dev` imports it at run time). The workspace typecheck
// (tsconfig.json at the repo root) checks src/cli/dev.ts against the real package.
declare const devserver: any;
export = devserver;
