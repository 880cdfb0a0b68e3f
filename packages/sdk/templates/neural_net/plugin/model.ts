/**
 * The model: a linear scorer standing in for yours. `train` is where you would fit it; `predict`
 * is deterministic, so the tests can check its answers.
 */
export interface LinearModel {
  weights: number[];
  bias: number;
}

export interface Prediction {
  label: 'positive' | 'negative';
  score: number;
}

/** What `inference` answers with when a request names no registered model. */
export const TOY_MODEL: LinearModel = { weights: [0.5, -0.25], bias: 0 };

/** The logistic score of one input (rounded to 3 decimals) and its label. */
export function predict(model: LinearModel, input: number[]): Prediction {
  const z = model.weights.reduce((sum, weight, i) => sum + weight * (input[i] ?? 0), model.bias);
  const score = Math.round((1 / (1 + Math.exp(-z))) * 1000) / 1000;
  return { label: score >= 0.5 ? 'positive' : 'negative', score };
}
