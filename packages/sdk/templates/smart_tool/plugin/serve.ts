/**
 * `inference`, a serve deployment: the annotation tool asks it while a user labels. `POST /` with
 * `{"image_url": ...}` answers the suggested annotations, as `auto_label` does.
 */
import { BaseServeDeployment, ServeRequestError, z } from 'synapse-sdk';
import { suggest } from './suggest.ts';

const Request = z.object({
  image_url: z.string().min(1),
});

export class AutoLabelModel extends BaseServeDeployment {
  override async infer(body: unknown) {
    const request = Request.safeParse(body);
    if (!request.success) {
      const problems = request.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`);
      throw new ServeRequestError(`Invalid request: ${problems.join('; ')}`, 400);
    }
    return suggest(request.data.image_url);
  }
}
