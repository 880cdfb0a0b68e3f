/** `users/login/`: email and password for a user token (backend-api.md §1.2). */
import { issueToken, verifyPassword } from '../auth.ts';
import { badRequest } from '../errors.ts';
import type { RouteModule } from './index.ts';

const routes: RouteModule = (app, ctx) => {
  app.post('/users/login/', { config: { public: true } }, async (req) => {
    const { email, password } = (req.body ?? {}) as { email?: unknown; password?: unknown };
    const errors: Record<string, string[]> = {};
    if (typeof email !== 'string' || !email) errors.email = ['This field is required.'];
    if (typeof password !== 'string' || !password) errors.password = ['This field is required.'];
    if (Object.keys(errors).length > 0) throw badRequest(errors);
    const [user] = await ctx.db.query<{ id: number; doc: { password: string } }>(
      `SELECT id, doc FROM users WHERE lower(doc->>'email') = lower($1)`,
      [email],
    );
    if (!user || !verifyPassword(password as string, user.doc.password)) {
      throw badRequest({ non_field_errors: ['Unable to log in with provided credentials.'] });
    }
    // A password that logged in is a secret the platform knows: masked wherever it shows up.
    ctx.secrets.add(password);
    return { token: await issueToken(ctx, 'user', user.id) };
  });
};
export default routes;
