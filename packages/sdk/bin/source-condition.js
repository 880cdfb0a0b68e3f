// Resolve hook that turns the `synapse-source` export condition on (see launch.js).
export async function resolve(specifier, context, nextResolve) {
  return nextResolve(specifier, { ...context, conditions: [...context.conditions, 'synapse-source'] });
}
