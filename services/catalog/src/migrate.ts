// `node services/catalog/src/migrate.ts [up|down [count]]` — runs the catalog's migrations against DATABASE_URL.
import { migrateCli } from '@breakwater/events/postgres';
import { MIGRATIONS_DIR } from './config.ts';

await migrateCli(MIGRATIONS_DIR);
