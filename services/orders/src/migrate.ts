// `node services/orders/src/migrate.ts [up|down [count]]` — runs the orders migrations against DATABASE_URL.
import { migrateCli } from '@breakwater/events/postgres';
import { MIGRATIONS_DIR } from './config.ts';

await migrateCli(MIGRATIONS_DIR);
