import { fileURLToPath } from 'node:url';

/** The repository root: every renderer reads and writes repo-relative paths under it. */
export const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url)).replace(/\/$/, '');
