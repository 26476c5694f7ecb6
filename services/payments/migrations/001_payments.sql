-- Up Migration
-- One payment per order, enforced here: order_id is UNIQUE, so a redelivered
-- or concurrently reclaimed order.placed can never create a second charge.
CREATE TABLE payments (
  id            uuid PRIMARY KEY,
  order_id      uuid NOT NULL UNIQUE,
  customer_id   text NOT NULL,
  amount_cents  integer NOT NULL CHECK (amount_cents >= 0),
  currency      text NOT NULL DEFAULT 'EUR',
  status        text NOT NULL CHECK (status IN ('PENDING', 'CAPTURED', 'DECLINED')),
  reason        text,
  processor_ref text,
  attempts      integer NOT NULL DEFAULT 0,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
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
DROP TABLE payments;
