-- Up Migration
CREATE TABLE orders (
  id               uuid PRIMARY KEY,
  -- One order per Idempotency-Key; request_hash tells a replay from a misuse.
  idempotency_key  text NOT NULL UNIQUE,
  request_hash     text NOT NULL,
  customer_id      text NOT NULL,
  items            jsonb NOT NULL,
  amount_cents     integer NOT NULL CHECK (amount_cents >= 0),
  currency         text NOT NULL DEFAULT 'EUR',
  status           text NOT NULL CHECK (status IN ('PENDING_PAYMENT', 'CONFIRMED', 'CANCELLED')),
  reservation_id   uuid NOT NULL,
  payment_id       uuid,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_status ON orders (status) WHERE status = 'PENDING_PAYMENT';

CREATE TABLE order_history (
  order_id  uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  seq       bigserial,
  status    text NOT NULL,
  reason    text,
  at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (order_id, seq)
);

CREATE TABLE outbox (
  id              bigserial PRIMARY KEY,
  event_id        uuid NOT NULL UNIQUE,
  stream          text NOT NULL,
  type            text NOT NULL,
  payload         jsonb NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  published_at    timestamptz,
  stream_entry_id text
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;

CREATE TABLE processed_events (
  consumer_group text NOT NULL,
  event_id       text NOT NULL,
  processed_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer_group, event_id)
);

-- Down Migration
DROP TABLE processed_events;
DROP TABLE outbox;
DROP TABLE order_history;
DROP TABLE orders;
