import { BaseAction, z } from 'synapse-sdk';

const Params = z.object({
  name: z.string().trim().min(1).describe('Upload name'),
  files: z.array(z.string()).min(1).describe('Paths of the files to upload'),
  data_collection: z.number().int().optional().describe('Data collection receiving the data units'),
});

/** Uploads each file as a data unit of `data_collection` when one is given; without it, only counts them. */
export class UploadAction extends BaseAction<z.infer<typeof Params>> {
  static override paramsSchema = Params;

  override async execute() {
    const { files, data_collection } = this.params;
    let units = 0;
    for (const [i, file] of files.entries()) {
      if (data_collection !== undefined) {
        const uploaded = await this.client.uploadDataFile({ files: { image_1: file } }, data_collection);
        await this.client.createDataUnits(uploaded);
        units++;
      }
      this.setProgress(i + 1, files.length, 'upload');
    }
    return { uploaded_files: files.length, data_units: units };
  }
}
