/**
 * `node --import <this file>`: serves `.ts` modules from the strip cache
 * (strip-cache.mjs says why). Its own file so that importing the cache's
 * functions registers nothing.
 */
import { registerStripCache } from './strip-cache.mjs';

registerStripCache();
