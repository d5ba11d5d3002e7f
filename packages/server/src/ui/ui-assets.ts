// The dashboard's built files (scripts/build.mjs bundles packages/server/ui-app into
// dist/ui-app): read once, served from memory by name, never by a path from the request.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** dist/ui-app, from both src/ui (tsx) and dist/ui (built). */
export const uiAssetsDir = fileURLToPath(new URL('../../dist/ui-app/', import.meta.url));

export interface UiAsset {
  body: Buffer;
  type: string;
}

const files: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};

let cache: Map<string, UiAsset> | undefined;

/** The asset called `name` (index.html, app.js, ...), or undefined; throws if the UI was not built. */
export function uiAsset(name: string): UiAsset | undefined {
  if (cache === undefined) {
    const loaded = new Map<string, UiAsset>();
    for (const [file, type] of Object.entries(files)) loaded.set(file, { body: readFileSync(`${uiAssetsDir}${file}`), type });
    cache = loaded;
  }
  return cache.get(name);
}
