// `node services/payments/src/migrate.ts [up|down [count]]` — runs the payments migrations against DATABASE_URL.
import { migrateCli } from '@breakwater/events/postgres';

await migrateCli(new URL('../migrations/', import.meta.url));
