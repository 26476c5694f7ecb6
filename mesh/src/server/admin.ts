/**
 * The loopback admin endpoint: `GET/PUT/DELETE /admin/faults` behind a bearer
 * token, served on its own port (BW_ADMIN_PORT) bound to 127.0.0.1 so that
 * only the machine's own fault controller can reach it.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { MeshError } from '../errors.ts';
import { renderProblem } from '../problem.ts';
import type { FaultFilter } from './fault-filter.ts';

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** The admin express app (listening is the server kit's job). */
export function createAdminApp(options: { token: string; faults: FaultFilter }): express.Express {
  const want = digest(`Bearer ${options.token}`);
  const app = express();
  app.disable('x-powered-by');
  app.use((req: Request, _res: Response, next: NextFunction) => {
    const got = req.headers.authorization ?? '';
    // Compare digests so the comparison takes the same time whatever the length.
    if (!timingSafeEqual(digest(got), want)) {
      next(new MeshError('MESH_ERR_UNAUTHORIZED', 'missing or wrong bearer token'));
      return;
    }
    next();
  });
  app.use(express.json({ limit: '64kb' }));
  app.get('/admin/faults', (_req, res) => {
    res.json(options.faults.config);
  });
  app.put('/admin/faults', (req, res) => {
    res.json(options.faults.set(req.body));
  });
  app.delete('/admin/faults', (_req, res) => {
    options.faults.clear();
    res.status(204).end();
  });
  app.use((req: Request, _res: Response, next: NextFunction) => {
    next(new MeshError('MESH_ERR_NOT_FOUND', `no admin route ${req.method} ${req.path}`));
  });
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const p = renderProblem(err, undefined, req.path);
    if (p.status === 401) res.setHeader('www-authenticate', 'Bearer');
    res.status(p.status).set(p.headers).send(JSON.stringify(p.body));
  });
  return app;
}
