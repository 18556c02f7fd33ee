// The dashboard's assets: page, script, style and icon, hashed and served immutable.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dashboardHtml, ICON_SVG } from './page.js';
import { DASHBOARD_CSS } from './styles.js';

/** One file the dashboard serves, with its validator. */
export interface UiAsset {
  readonly body: Buffer;
  readonly type: string;
  /** Strong ETag: a hash of the body. */
  readonly etag: string;
}

export interface DashboardAssets {
  /** The page at `/`: revalidated on every load (no-cache + ETag), so a new release shows at once. */
  readonly page: UiAsset;
  /** Under `/ui/`, by file name. Names carry a hash of the content: immutable, cached for a year. */
  readonly files: ReadonlyMap<string, UiAsset>;
}

/**
 * `default-src 'self'` and nothing inline: the page loads only its own hashed files and talks
 * only to this origin (fetch and the event stream). `img-src data:` is not needed: the
 * sparklines and icons are SVG elements built by the script.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "font-src 'none'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const hashOf = (body: Buffer): string => createHash('sha256').update(body).digest('hex');

function asset(text: string, type: string): UiAsset {
  const body = Buffer.from(text, 'utf8');
  return { body, type, etag: `"${hashOf(body).slice(0, 32)}"` };
}

let built: DashboardAssets | undefined;

/**
 * The dashboard's script: src/ui/client/*.ts, compiled and joined into dist/ui/dashboard.js by
 * `npm run build` (scripts/bundle-dashboard.mjs). src/ and dist/ both sit beside package.json,
 * so the same relative path works from the sources (tests) and from the build.
 */
export function dashboardScript(): string {
  const url = new URL('../../dist/ui/dashboard.js', import.meta.url);
  try {
    return readFileSync(url, 'utf8');
  } catch (err) {
    throw new Error(`the dashboard script ${url.pathname} is missing: run \`npm run build\``, { cause: err });
  }
}

/** Built once per process from the modules above and the compiled script. */
export function dashboardAssets(): DashboardAssets {
  if (built) return built;
  const files = new Map<string, UiAsset>();
  const add = (stem: string, ext: string, text: string, type: string): string => {
    const a = asset(text, type);
    const name = `${stem}.${hashOf(a.body).slice(0, 12)}.${ext}`;
    files.set(name, a);
    return `/ui/${name}`;
  };
  const script = add('dashboard', 'js', dashboardScript(), 'text/javascript; charset=utf-8');
  const style = add('dashboard', 'css', DASHBOARD_CSS, 'text/css; charset=utf-8');
  const icon = add('icon', 'svg', ICON_SVG, 'image/svg+xml');
  built = { page: asset(dashboardHtml({ script, style, icon }), 'text/html; charset=utf-8'), files };
  return built;
}
