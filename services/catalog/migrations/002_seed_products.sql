-- Up Migration
-- Forty products with stock: sku-0001 … sku-0040.
INSERT INTO products (id, name, description, price_cents, stock)
SELECT
  'sku-' || lpad(n::text, 4, '0'),
  initcap(adj) || ' ' || noun,
  'A ' || adj || ' ' || lower(noun) || ' from the Breakwater reference shop.',
  500 + ((n * 737) % 9500),
  100 + ((n * 53) % 400)
FROM (
  SELECT
    n,
    (ARRAY['sturdy','coastal','salted','harbour','tidal','granite','driftwood','beacon','anchored','windward'])[1 + (n - 1) % 10] AS adj,
    (ARRAY['Lantern','Rope','Compass','Kettle','Blanket','Mug','Oar','Buoy'])[1 + ((n - 1) / 10 + (n - 1)) % 8] AS noun
  FROM generate_series(1, 40) AS n
) s;

-- Down Migration
DELETE FROM reservation_items WHERE product_id LIKE 'sku-%';
DELETE FROM products WHERE id ~ '^sku-[0-9]{4}$';
