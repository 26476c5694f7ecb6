/** Request id: accepted from the caller when sane, else generated; always echoed. */
import { randomUUID } from 'node:crypto';
import type { Logger } from '@breakwater/observability';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { RequestContext } from './request-context.ts';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** `draining()` true once shutdown started: every response then asks the client to close its connection. */
export function requestId(logger: Logger, draining: () => boolean): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const given = req.headers['x-request-id'];
    const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    res.setHeader('x-request-id', id);
    if (draining()) res.setHeader('connection', 'close');
    req.bw = new RequestContext(id, undefined, logger, undefined);
    next();
  };
}
