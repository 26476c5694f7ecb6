// `node services/notifications/src/migrate.ts [up|down [count]]` — runs the notifications migrations against DATABASE_URL.
import { migrateCli } from '@breakwater/events/postgres';
import { MIGRATIONS_DIR } from './config.ts';

await migrateCli(MIGRATIONS_DIR);
