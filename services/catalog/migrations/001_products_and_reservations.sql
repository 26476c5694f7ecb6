-- Up Migration
CREATE TABLE products (
  id           text PRIMARY KEY CHECK (id ~ '^[a-z0-9-]{1,64}$'),
  name         text NOT NULL,
  description  text NOT NULL DEFAULT '',
  price_cents  integer NOT NULL CHECK (price_cents >= 0),
  currency     text NOT NULL DEFAULT 'EUR',
  stock        integer NOT NULL CHECK (stock >= 0),
  updated_at   timestamptz NOT NULL DEFAULT now()
);

-- A reservation is 'held' (stock taken) or 'released' (stock given back).
-- Releasing an unknown id leaves a 'released' tombstone so a late reserve
-- with that id cannot take stock after its order was already cancelled.
CREATE TABLE reservations (
  id           uuid PRIMARY KEY,
  status       text NOT NULL CHECK (status IN ('held', 'released')),
  created_at   timestamptz NOT NULL DEFAULT now(),
  released_at  timestamptz
);

CREATE TABLE reservation_items (
  reservation_id   uuid NOT NULL REFERENCES reservations (id) ON DELETE CASCADE,
  product_id       text NOT NULL REFERENCES products (id),
  quantity         integer NOT NULL CHECK (quantity > 0),
  unit_price_cents integer NOT NULL CHECK (unit_price_cents >= 0),
  PRIMARY KEY (reservation_id, product_id)
);

-- Down Migration
DROP TABLE reservation_items;
DROP TABLE reservations;
DROP TABLE products;
