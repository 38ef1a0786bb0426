declare const __BLOODRAVEN_VERSION__: string | undefined;
declare const __BLOODRAVEN_COMMIT__: string | undefined;

/** Set by the esbuild bundle (scripts/build.mjs); "dev" when run from source. */
export const VERSION = typeof __BLOODRAVEN_VERSION__ === "string" ? __BLOODRAVEN_VERSION__ : "dev";
export const COMMIT = typeof __BLOODRAVEN_COMMIT__ === "string" ? __BLOODRAVEN_COMMIT__ : "unknown";
