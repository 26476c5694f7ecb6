-- Up Migration
-- Only for the event layer's own tests: the tables a service's migrations add.
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
CREATE TABLE effects (event_id text PRIMARY KEY, n int NOT NULL);

-- Down Migration
DROP TABLE effects;
DROP TABLE processed_events;
DROP TABLE outbox;
