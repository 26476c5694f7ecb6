/** Types of strip-cache.mjs (plain JavaScript on purpose: see its header). */
export declare const STRIP_CACHE_DIR: string;
export declare function strippedOf(source: string): { code: string; hit: boolean };
export declare function registerStripCache(): void;
export declare function warmStripCache(root?: string): { stripped: number; cached: number };
export declare function workspaceRuntimeSources(root?: string): string[];
