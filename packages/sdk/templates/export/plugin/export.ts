import { BaseAction, z } from 'synapse-sdk';

const Params = z.object({
  name: z.string().min(1).describe('Export name'),
  items: z
    .array(z.record(z.string(), z.unknown()))
    .describe('Items to export (normally fetched from the backend)'),
});

/** Converts each item with `convert`; an item that fails is counted and logged, not fatal. */
export class ExportAction extends BaseAction<z.infer<typeof Params>> {
  static override paramsSchema = Params;
  static override progressCategories = { dataset_conversion: { proportion: 100 } };

  override async execute() {
    const { items } = this.params;
    let exported = 0;
    for (const [i, item] of items.entries()) {
      const id = item.id ?? i;
      try {
        await this.convert(item);
        this.log('export_item', { id });
        exported++;
      } catch (err) {
        this.log('export_item_failed', { id, error: (err as Error).message });
      }
      this.setProgress(i + 1, items.length, 'dataset_conversion');
    }
    return { exported_count: exported, failed_count: items.length - exported, total_count: items.length };
  }

  /** One item in your export format: write its files here. Throw to count the item as failed. */
  async convert(item: Record<string, unknown>): Promise<void> {
    if (item.id === undefined) throw new Error('the item has no id');
  }
}
