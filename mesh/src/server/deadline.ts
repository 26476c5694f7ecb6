/**
 * Inbound deadline: refuse work whose caller has already given up (504 at
 * once), and answer 504 when the deadline runs out while the handler works
 * (`req.bw.signal` aborts at the same moment).
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { MeshError } from '../errors.ts';
import { sendProblem } from './problem-handler.ts';

export const deadline: RequestHandler = (req: Request, res: Response, next: NextFunction) => {
  const d = req.bw.deadline;
  if (!d) return next();
  const left = d.remainingMs();
  if (left <= 0) {
    next(new MeshError('MESH_ERR_DEADLINE_EXPIRED', 'the request arrived after its deadline'));
    return;
  }
  const ac = req.bw.controller();
  const timer = setTimeout(() => {
    const err = new MeshError(
      'MESH_ERR_DEADLINE_EXPIRED',
      `the request's deadline (${Math.round(left)} ms) ran out`,
    );
    ac.abort(err);
    if (!res.headersSent) sendProblem(req, res, err);
  }, Math.ceil(left));
  res.once('close', () => clearTimeout(timer));
  next();
};

/**
 * A fault delay or a slow body may outlast the deadline: once the 504 is out,
 * the handler never starts.
 */
export const skipIfAnswered: RequestHandler = (_req: Request, res: Response, next: NextFunction) => {
  if (!res.headersSent) next();
};
