-- Up Migration
-- One notification per order and kind, however often its event is delivered.
CREATE TABLE notifications (
  id           uuid PRIMARY KEY,
  event_id     text NOT NULL UNIQUE,
  order_id     uuid NOT NULL,
  kind         text NOT NULL CHECK (kind IN ('order_confirmed', 'order_cancelled')),
  customer_id  text NOT NULL,
  channel      text NOT NULL DEFAULT 'email',
  body         text NOT NULL,
  trace_id     text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (order_id, kind)
);

-- Down Migration
DROP TABLE notifications;
