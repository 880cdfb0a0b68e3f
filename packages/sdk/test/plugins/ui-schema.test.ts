import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { titleCase, zodToUiSchema } from '../../src/plugins/ui-schema.ts';

describe('zodToUiSchema', () => {
  it('writes the spec example for a bounded number with a default and a description', () => {
    const schema = z.object({
      learning_rate: z
        .number()
        .min(0)
        .max(1)
        .multipleOf(0.0001)
        .default(0.001)
        .describe('Optimizer step size'),
    });
    expect(zodToUiSchema(schema)).toEqual([
      {
        $formkit: 'number',
        name: 'learning_rate',
        label: 'Learning Rate',
        value: 0.001,
        placeholder: 0.001,
        help: 'Optimizer step size',
        required: false,
        min: 0,
        max: 1,
        step: 0.0001,
        number: true,
      },
    ]);
  });

  it('maps each kind of field, in declaration order', () => {
    const schema = z.object({
      epochs: z.int().gt(0).lt(1000),
      batch_size: z.number().int().optional(),
      augment: z.boolean().default(true),
      optimizer: z.enum(['adam', 'sgd']).default('adam'),
      model_name: z.string(),
      dropout: z.number().max(0.9).nullable(),
    });
    expect(zodToUiSchema(schema)).toEqual([
      {
        $formkit: 'number',
        name: 'epochs',
        label: 'Epochs',
        required: true,
        min: 0,
        max: 1000,
        number: true,
      },
      // An unbounded int has no min/max (zod writes the safe-integer range).
      { $formkit: 'number', name: 'batch_size', label: 'Batch Size', required: false, number: true },
      {
        $formkit: 'checkbox',
        name: 'augment',
        label: 'Augment',
        value: true,
        placeholder: true,
        required: false,
      },
      {
        $formkit: 'select',
        name: 'optimizer',
        label: 'Optimizer',
        value: 'adam',
        placeholder: 'adam',
        required: false,
        options: ['adam', 'sgd'],
      },
      { $formkit: 'text', name: 'model_name', label: 'Model Name', required: true },
      { $formkit: 'number', name: 'dropout', label: 'Dropout', required: true, max: 0.9, number: true },
    ]);
  });

  it('lets .meta() replace the computed keys', () => {
    const schema = z.object({
      notes: z.string().optional().meta({ formkit: 'textarea', label: 'Run notes', help: 'Free text' }),
      size: z
        .enum(['s', 'm', 'l'])
        .meta({ formkit: 'radio', options: [{ label: 'Small', value: 's' }], required: false }),
      lr: z.number().min(0).meta({ min: 0.1, max: 10, step: 0.5 }),
    });
    expect(zodToUiSchema(schema)).toEqual([
      { $formkit: 'textarea', name: 'notes', label: 'Run notes', help: 'Free text', required: false },
      {
        $formkit: 'radio',
        name: 'size',
        label: 'Size',
        required: false,
        options: [{ label: 'Small', value: 's' }],
      },
      {
        $formkit: 'number',
        name: 'lr',
        label: 'Lr',
        required: true,
        min: 0.1,
        max: 10,
        step: 0.5,
        number: true,
      },
    ]);
  });

  it('has no items for a schema that is not an object', () => {
    expect(zodToUiSchema(z.string())).toEqual([]);
    expect(zodToUiSchema(z.object({}))).toEqual([]);
  });

  it('title-cases snake_case names', () => {
    expect(titleCase('learning_rate')).toBe('Learning Rate');
    expect(titleCase('max__depth_')).toBe('Max Depth');
  });
});
