-- Up Migration
-- The simulated card processor's own memory (a stand-in for the processor's
-- side of the world): one record per idempotency key, so a charge repeated
-- after a crash or a reclaim answers the first result and charges nothing
-- new — as real processors do with idempotency keys.
CREATE TABLE simulated_processor_charges (
  idempotency_key text PRIMARY KEY,
  status          text NOT NULL CHECK (status IN ('captured', 'declined')),
  ref             text,
  reason          text,
  amount_cents    integer NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE simulated_processor_charges;
