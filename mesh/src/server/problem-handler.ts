/**
 * The end of the chain: 404 for a path no route serves, 405 with Allow for a
 * path a route serves with other methods (RFC 9110 §15.5.6), and the error
 * handler that answers every error as problem+json (RFC 9457).
 */
import type { ErrorRequestHandler, Express, NextFunction, Request, RequestHandler, Response } from 'express';
import { MeshError } from '../errors.ts';
import { renderProblem } from '../problem.ts';

export function sendProblem(req: Request, res: Response, err: unknown): void {
  const p = renderProblem(err, req.bw?.requestId, req.originalUrl.split('?')[0]);
  if (p.unexpected) req.bw?.log.error({ err }, 'unexpected error');
  res.status(p.status).set(p.headers).send(JSON.stringify(p.body));
}

/** The parts of express's router (the `router` package) the 405 check reads. */
interface Layer {
  match(path: string): { path: string } | false;
  route?: { _methods(includeAll?: boolean): string[] };
  handle?: { stack?: Layer[] };
}

/**
 * Methods the app serves at `path`: every route whose pattern matches it, in
 * the app and in every router mounted on a matching prefix. Runs only for a
 * request no route answered, so its cost never reaches served requests.
 */
export function allowedMethods(stack: readonly Layer[], path: string, out = new Set<string>()): Set<string> {
  for (const layer of stack) {
    const m = layer.match(path);
    if (!m) continue;
    if (layer.route) {
      for (const method of layer.route._methods(false)) out.add(method);
    } else if (layer.handle?.stack) {
      allowedMethods(layer.handle.stack, path.slice(m.path.length) || '/', out);
    }
  }
  return out;
}

/** 405 with Allow when another method is served at this path, else 404. */
export function noRoute(app: Express): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    const stack = (app as unknown as { router?: { stack?: Layer[] } }).router?.stack ?? [];
    const allow = allowedMethods(stack, req.path);
    if (allow.size > 0 && !allow.has(req.method)) {
      const list = [...allow].sort().join(', ');
      next(
        new MeshError(
          'MESH_ERR_METHOD_NOT_ALLOWED',
          `${req.method} is not served at ${req.path}; use ${list}`,
          {
            headers: { allow: list },
          },
        ),
      );
      return;
    }
    next(new MeshError('MESH_ERR_NOT_FOUND', `no route for ${req.method} ${req.path}`));
  };
}

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
