// `node services/payments/src/migrate.ts [up|down [count]]` — runs the payments migrations against DATABASE_URL.
import { migrateCli } from '@breakwater/events/postgres';
import { MIGRATIONS_DIR } from './config.ts';

await migrateCli(MIGRATIONS_DIR);
