-- Up Migration
-- Stock added after the seed, one row per top-up. The drill runner tops the
-- seeded products back up to their seed stock before every drill (a series of
-- drills on one platform would otherwise sell them out, and orders answered
-- 409 would count as failures); the drills' stock invariant reads
-- seed + restocked − held reservations = stock.
CREATE TABLE restocks (
  id          bigserial PRIMARY KEY,
  product_id  text NOT NULL REFERENCES products (id),
  quantity    integer NOT NULL CHECK (quantity > 0),
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE restocks;
