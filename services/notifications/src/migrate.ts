// `node services/notifications/src/migrate.ts [up|down [count]]` — runs the notifications migrations against DATABASE_URL.
import { migrateCli } from '@breakwater/events/postgres';

await migrateCli(new URL('../migrations/', import.meta.url));
