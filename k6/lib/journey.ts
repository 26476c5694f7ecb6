/**
 * One shop visit, the iteration every load profile drives: a product page,
 * one product, and for a share of visits (`ORDER_SHARE`, default 0.2) an
 * order followed by one status read. Degraded answers are recorded (see
 * outcome.ts) and the journey goes on with what it has.
 */

import { envNumber } from './config.ts';
import { orderIdFrom, productIds, type ShopApi } from './shop-api.ts';

export function shopJourney(api: ShopApi): void {
  const ids = productIds(api.listProducts(20));
  if (ids.length === 0) return;
  const productId = ids[Math.floor(Math.random() * ids.length)] as string;
  api.getProduct(productId);

  if (Math.random() >= envNumber('ORDER_SHARE', 0.2)) return;
  const placed = api.placeOrder([{ productId, quantity: 1 }]);
  const orderId = placed.res.status === 202 ? orderIdFrom(placed) : undefined;
  if (orderId !== undefined) api.getOrder(orderId);
}
