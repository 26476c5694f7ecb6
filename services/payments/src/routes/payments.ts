/** GET /payments/:orderId — the payment of an order. */
import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import { PaymentsError } from '../errors.ts';
import type { PaymentsStore } from '../store/payments-store.ts';

export function mountPaymentRoutes(router: Router, deps: { store: PaymentsStore }): void {
  router.get('/payments/:orderId', async (req: Request, res: Response) => {
    const parsed = z.uuid().safeParse(req.params.orderId);
    if (!parsed.success) throw new PaymentsError('PAYMENTS_ERR_VALIDATION', 'path: orderId: must be a UUID');
    const payment = await deps.store.byOrder(parsed.data).catch((err: unknown) => {
      throw new PaymentsError('PAYMENTS_ERR_UNAVAILABLE', 'the payments database is unavailable', {
        cause: err,
        retryAfterSec: 2,
      });
    });
    if (!payment) throw new PaymentsError('PAYMENTS_ERR_NOT_FOUND', `no payment for order ${parsed.data}`);
    res.json(payment);
  });
}
