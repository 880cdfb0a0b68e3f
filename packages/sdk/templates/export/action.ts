import { BaseAction, z } from 'synapse-sdk';

const Params = z.object({
  name: z.string().min(1).describe('Export name'),
  items: z
    .array(z.record(z.string(), z.unknown()))
    .describe('Items to export (normally fetched from the backend)'),
});

/** Converts each item and counts what was exported; write files in `convert`. */
export class ExportAction extends BaseAction<z.infer<typeof Params>> {
  static override paramsSchema = Params;
  static override progressCategories = { dataset_conversion: { proportion: 100 } };

  async execute() {
    const { items } = this.params;
    let exported = 0;
    for (const [i, item] of items.entries()) {
      this.log('export_item', { id: item.id ?? i });
      exported++;
      this.setProgress(i + 1, items.length, 'dataset_conversion');
    }
    return { exported_count: exported, failed_count: items.length - exported, total_count: items.length };
  }
}
