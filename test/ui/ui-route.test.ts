import { Script } from 'node:vm';
import request from 'supertest';
import { dashboardScript } from '../../src/ui/assets.js';
import { DASHBOARD_CSS } from '../../src/ui/styles.js';
import { startHarness, type Harness } from '../support/api-harness.js';

const KEY = 'api-key-0123456789abcdef';

/** The asset URLs the page links, in order: icon, stylesheet, script (and the header's icon). */
function linkedAssets(html: string): string[] {
  return [...html.matchAll(/(?:src|href)="(\/ui\/[^"]+)"/g)].map((m) => m[1]!);
}

describe('dashboard routes: caching, CSP, assets', () => {
  let h: Harness;
  beforeAll(async () => {
    // An API key is set: the page and its assets stay open (they hold no data), the data does not.
    h = await startHarness({ specs: [{ id: 'bsc-a', kind: 'bsc' }], env: { NODESENTRY_API_KEY: KEY } });
  });
  afterAll(() => h.close());

  it('serves the page at / without credentials, no-cache with a strong ETag, and answers 304 when it matches', async () => {
    const r = await request(h.app).get('/').expect(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.headers['cache-control']).toBe('no-cache');
    expect(r.headers.etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['referrer-policy']).toBe('no-referrer');
    expect(r.text).toMatch(/^<!doctype html>/);
    expect(r.text).toContain('<html lang="en">');
    const again = await request(h.app).get('/').set('if-none-match', r.headers.etag!).expect(304);
    expect(again.text).toBe('');
    expect(again.headers.etag).toBe(r.headers.etag);
    await request(h.app).get('/').set('if-none-match', '"something-else"').expect(200);
    const head = await request(h.app).head('/').expect(200);
    expect(head.headers['cache-control']).toBe('no-cache');
    // The data behind it is still guarded by the key.
    await request(h.app).get('/v1/nodes').expect(401);
  });

  it("sets a Content-Security-Policy of default-src 'self' with nothing inline, and the page obeys it", async () => {
    const r = await request(h.app).get('/').expect(200);
    const csp = String(r.headers['content-security-policy']);
    const directives = new Map(
      csp
        .split(';')
        .map((d) => d.trim().split(/\s+/))
        .map(([k, ...v]) => [k!, v]),
    );
    expect(directives.get('default-src')).toEqual(["'self'"]);
    for (const d of ['script-src', 'style-src', 'connect-src', 'img-src'])
      expect(directives.get(d)).toEqual(["'self'"]);
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
    expect(directives.get('object-src')).toEqual(["'none'"]);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:|\*/);
    // No inline script, no inline style, no handler attributes, nothing from another origin.
    expect(r.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    expect(r.text).not.toMatch(/<style/i);
    expect(r.text).not.toMatch(/\sstyle=/i);
    expect(r.text).not.toMatch(/\son[a-z]+=/i);
    expect(r.text).not.toMatch(/(?:src|href)="(?:https?:)?\/\//i);
  });

  it('serves every linked asset under a content-hashed name as immutable for a year, with its type', async () => {
    const page = await request(h.app).get('/').expect(200);
    const urls = [...new Set(linkedAssets(page.text))];
    expect(urls.map((u) => u.replace(/\.[0-9a-f]{12}\./, '.<hash>.')).sort()).toEqual([
      '/ui/dashboard.<hash>.css',
      '/ui/dashboard.<hash>.js',
      '/ui/icon.<hash>.svg',
    ]);
    const types: Record<string, string> = {
      js: 'text/javascript; charset=utf-8',
      css: 'text/css; charset=utf-8',
      svg: 'image/svg+xml',
    };
    for (const u of urls) {
      const r = await request(h.app)
        .get(u)
        .buffer(true)
        .parse((res, cb) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => cb(null, Buffer.concat(chunks)));
        });
      expect(r.status).toBe(200);
      expect(r.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(r.headers['content-type']).toBe(types[u.split('.').pop()!]);
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers.etag).toMatch(/^"[0-9a-f]{32}"$/);
      // The name's hash is the content's hash: a changed file gets a new name.
      const { createHash } = await import('node:crypto');
      expect(u).toContain(
        createHash('sha256')
          .update(r.body as Buffer)
          .digest('hex')
          .slice(0, 12),
      );
      await request(h.app).get(u).set('if-none-match', r.headers.etag!).expect(304);
    }
  });

  it('answers 404 problems for asset names it does not have (an older hash included)', async () => {
    for (const u of ['/ui/dashboard.000000000000.js', '/ui/nope.css', '/ui/', '/ui/..%2Fpackage.json']) {
      const r = await request(h.app).get(u);
      expect(r.status).toBe(404);
      expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(r.headers['cache-control']).toBeUndefined();
    }
    await request(h.app).post('/').expect(404);
  });
});

describe('the dashboard script', () => {
  const DASHBOARD_JS = dashboardScript();

  it('parses as a classic script', () => {
    expect(() => new Script(DASHBOARD_JS, { filename: 'dashboard.js' })).not.toThrow();
  });

  it('never turns strings into markup or code, and sets no inline styles', () => {
    for (const banned of [
      'innerHTML',
      'outerHTML',
      'insertAdjacentHTML',
      'document.write',
      'eval(',
      'new Function',
      "setAttribute('style",
      '.style.',
      'createContextualFragment',
      'srcdoc',
    ]) {
      expect({ banned, found: DASHBOARD_JS.includes(banned) }).toEqual({ banned, found: false });
    }
    // Attributes are set from a fixed list of names in the source, never from API data.
    expect(DASHBOARD_JS).not.toMatch(/setAttribute\(\s*[a-z]+\s*\+/);
  });

  it('keeps credentials out of URLs: sent as headers, stored in sessionStorage only', () => {
    expect(DASHBOARD_JS).not.toMatch(/localStorage|document\.cookie|location\.(hash|search)\s*=|history\.pushState/);
    // The URL carries a node id (#node=<id>, a deep link) or nothing: each replaceState is one of the two.
    const urls = [...DASHBOARD_JS.matchAll(/history\.replaceState\(null, '', ([^;]+)\);/g)].map((m) => m[1]);
    expect(urls.sort()).toEqual(["'#node=' + encodeURIComponent(id)", 'location.pathname + location.search'].sort());
    expect(DASHBOARD_JS.match(/replaceState/g)).toHaveLength(2);
    expect(DASHBOARD_JS).toContain("headers['x-api-key'] = creds.apiKey");
    expect(DASHBOARD_JS).toContain("headers.authorization = 'Bearer ' + creds.admin");
    expect(DASHBOARD_JS).not.toMatch(/[?&](?:token|key|apiKey)=/);
  });

  it('loads nothing from another origin (no CDN, no web fonts)', () => {
    for (const text of [DASHBOARD_JS, DASHBOARD_CSS]) {
      expect(text).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
      expect(text).not.toMatch(/@import|@font-face|url\(/);
    }
  });
});
