/** The wording helpers of messages: human lists and the "did you mean" of a typo. */
import { closestMatch, didYouMean, editDistance, humanList } from 'synapse-core';
import { describe, expect, it } from 'vitest';

describe('humanList', () => {
  it('writes a list as people do, never as a Python or JSON list', () => {
    expect(humanList([])).toBe('');
    expect(humanList(['job'])).toBe('job');
    expect(humanList(['pip', 'uv'])).toBe('pip or uv');
    expect(humanList(['job', 'task', 'serve', 'restapi'])).toBe('job, task, serve or restapi');
    expect(humanList(['train', 'test'], 'and')).toBe('train and test');
  });
});

describe('closestMatch', () => {
  it('counts a swap of two neighbours as one edit', () => {
    expect(editDistance('trian', 'train')).toBe(1);
    expect(editDistance('entrypiont', 'entrypoint')).toBe(1);
    expect(editDistance('epoch', 'epochs')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
  });

  it('suggests the nearest candidate of a likely typo, and nothing for an unrelated word', () => {
    expect(closestMatch('trian', ['test', 'train', 'inference'])).toBe('train');
    expect(closestMatch('Epoch', ['epochs', 'learning_rate'])).toBe('epochs');
    expect(closestMatch('dataset', ['entrypoint', 'method'])).toBeUndefined();
    expect(closestMatch('x', ['y'])).toBe('y');
    expect(closestMatch('deploy', ['train'])).toBeUndefined();
    expect(didYouMean('trian', ['train'])).toBe(" Did you mean 'train'?");
    expect(didYouMean('zzz', ['train'])).toBe('');
  });
});
