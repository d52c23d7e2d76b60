// App-wide middleware run in order as one Express layer.
//
// Express's router does bookkeeping for every layer it walks (path matching, params, the
// matched-route marker) that middleware mounted for every path never needs: about half a
// percent of a GET /auth/me per layer, measured, with a dozen such layers before any route.
// Each step is called as Express would call it: a throw, a rejected promise or an error passed
// to next() goes to the error handlers, and a step that answers simply does not call next().
import type { NextFunction, Request, RequestHandler, Response } from 'express';

export function inOrder(steps: readonly RequestHandler[]): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    let at = 0;
    const step = (err?: unknown): void => {
      // As Express's router: a falsy value or 'route' goes on; anything else ('router' too) leaves.
      if (err && err !== 'route') return next(err);
      const handler = steps[at++];
      if (handler === undefined) return next();
      try {
        const returned = handler(req, res, step) as unknown;
        if (returned instanceof Promise) returned.then(undefined, (e: unknown) => next(e || new Error('Rejected promise')));
      } catch (e) {
        next(e);
      }
    };
    step();
  };
}
