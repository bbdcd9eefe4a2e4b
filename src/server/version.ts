/** The oracx version, from package.json (kept here for the server's imports; the lookup lives in src/version.ts). */
export { version } from '../version.js';
