// `node services/orders/src/migrate.ts [up|down [count]]` — runs the orders migrations against DATABASE_URL.
import { migrateCli } from '@breakwater/events/postgres';

await migrateCli(new URL('../migrations/', import.meta.url));
