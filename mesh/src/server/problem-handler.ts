/**
 * The end of the chain: 404 for a path no route serves, and the error
 * handler that answers every error as problem+json (RFC 9457).
 */
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import { MeshError } from '../errors.ts';
import { renderProblem } from '../problem.ts';

export function sendProblem(req: Request, res: Response, err: unknown): void {
  const p = renderProblem(err, req.bw?.requestId, req.originalUrl.split('?')[0]);
  if (p.unexpected) req.bw?.log.error({ err }, 'unexpected error');
  res.status(p.status).set(p.headers).send(JSON.stringify(p.body));
}

export const noRoute = (): RequestHandler => (req: Request, _res: Response, next: NextFunction) => {
  next(new MeshError('MESH_ERR_NOT_FOUND', `no route for ${req.method} ${req.path}`));
};

export const problemHandler: ErrorRequestHandler = (err: unknown, req: Request, res: Response, _next) => {
  if (res.headersSent) {
    // Too late for a problem body. A handler that kept going after its
    // deadline answered 504 is expected and quiet; anything else is logged,
    // and a half-sent body is cut so the client sees the failure.
    const deadlineAnswered = req.bw?.deadline !== undefined && req.bw.signal.aborted;
    if (!res.writableEnded) {
      req.bw?.log.error({ err }, 'error while sending the response');
      res.destroy();
    } else if (!deadlineAnswered) {
      req.bw?.log.warn({ err }, 'error after the response was sent');
    }
    return;
  }
  sendProblem(req, res, err);
};
