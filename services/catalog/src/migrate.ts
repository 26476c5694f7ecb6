// `node services/catalog/src/migrate.ts [up|down [count]]` — runs the catalog's migrations against DATABASE_URL.
import { migrateCli } from '@breakwater/events/postgres';

await migrateCli(new URL('../migrations/', import.meta.url));
