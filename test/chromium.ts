// Debian's chromium driven by playwright-core, for the dashboard's end-to-end tests: no
// browser download, a fresh profile per launch (removed at close), screenshots into a folder.

import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface Browser {
  context: BrowserContext;
  /** a new tab; its console errors and page errors are collected in `problems` */
  page(viewport?: { width: number; height: number }): Promise<Page>;
  problems: string[];
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), 'tsetcd-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: chromiumPath, headless: true, args, viewport: { width: 1280, height: 800 } });
  const problems: string[] = [];
  return {
    context,
    problems,
    async page(viewport) {
      const p = await context.newPage();
      if (viewport) await p.setViewportSize(viewport);
      p.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      return p;
    },
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Where the screens' screenshots go: $UI_SCREENSHOT_DIR (docs/ui to refresh the README's), else a temp folder. */
export async function screenshotDir(): Promise<string> {
  const dir = process.env.UI_SCREENSHOT_DIR ?? join(tmpdir(), 'tsetcd-ui-screenshots');
  await mkdir(dir, { recursive: true });
  return dir;
}
