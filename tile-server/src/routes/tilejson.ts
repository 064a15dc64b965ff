import type Router from '@koa/router';
import type { Context } from 'koa';
import { badRequest } from '../errors.ts';
import type { FeatureLayers } from '../features/layers.ts';
import { tileFilter } from '../features/tile-filter.ts';
import type { TileSource } from '../sources/source.ts';
import type { LonLatBox } from '../tiles/coords.ts';
import type { TileService } from '../tiles/tile-service.ts';
import type { QueryRunner } from '../db/query.ts';
import type { AppState } from '../app.ts';

const WORLD: LonLatBox = [-180, -85.0511287798066, 180, 85.0511287798066];

/**
 * The base URL clients should use: PUBLIC_URL when configured, else the request as the client sent it through
 * any reverse proxy (X-Forwarded-Proto/Host, honoured because app.proxy is on; X-Forwarded-Prefix for a path).
 */
export function baseUrl(ctx: Context, publicUrl: string | undefined): string {
  if (publicUrl) return publicUrl.replace(/\/+$/, '');
  const prefix = (ctx.get('X-Forwarded-Prefix') || '').replace(/\/+$/, '');
  const safePrefix = /^(\/[A-Za-z0-9._~-]+)*$/.test(prefix) ? prefix : '';
  return `${ctx.protocol}://${ctx.host}${safePrefix}`;
}

/** `?key=` is carried into tile URLs so a map given a TileJSON URL with a key can fetch its tiles. */
export function keySuffix(ctx: Context): string {
  const key = ctx.query.key;
  return typeof key === 'string' && key ? `?key=${encodeURIComponent(key)}` : '';
}

/** Bounds are looked up in the database at most once a minute per layer (they are advisory). */
export class BoundsCache {
  private readonly known = new Map<string, { at: number; bounds: LonLatBox | null }>();
  constructor(private readonly run: QueryRunner) {}

  async of(source: TileSource): Promise<LonLatBox | null> {
    const hit = this.known.get(source.meta.id);
    if (hit && Date.now() - hit.at < 60_000) return hit.bounds;
    const bounds = await source.bounds(this.run).catch(() => null);
    this.known.set(source.meta.id, { at: Date.now(), bounds });
    return bounds;
  }

  forget(id: string): void {
    this.known.delete(id);
  }
}

/** GET /tiles/{layer[,layer…]}.json: TileJSON 3.0.0. */
export function tilejsonRoutes(
  router: Router<AppState>,
  tiles: TileService,
  bounds: BoundsCache,
  publicUrl: string | undefined,
  layers: FeatureLayers,
): void {
  router.get('/tiles/:file', async (ctx) => {
    ctx.state.route = 'tilejson';
    const m = /^(.+)\.json$/.exec(ctx.params.file!);
    if (!m) throw badRequest('invalid_request', 'TileJSON URLs end in .json');
    const ids = m[1]!;
    const sources = tiles.sources(ids, ctx.state.principal);
    // ?filter= is checked against the layer now and carried into the tile URL, so the map draws the subset.
    const filter = tileFilter(layers, sources, ctx.query, ctx.state.principal);
    const lang = ctx.query['filter-lang'];
    const query = [
      ...(filter ? [`filter=${encodeURIComponent(ctx.query.filter as string)}`] : []),
      ...(filter && typeof lang === 'string' ? [`filter-lang=${encodeURIComponent(lang)}`] : []),
      ...(typeof ctx.query.key === 'string' && ctx.query.key ? [`key=${encodeURIComponent(ctx.query.key)}`] : []),
    ].join('&');
    const boxes = (await Promise.all(sources.map((s) => bounds.of(s)))).filter((b): b is LonLatBox => b !== null);
    const box = boxes.length ? union(boxes) : WORLD;
    const minzoom = Math.min(...sources.map((s) => s.meta.minzoom));
    const maxzoom = Math.max(...sources.map((s) => s.meta.maxzoom));
    const one = sources.length === 1 ? sources[0]!.meta : null;
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = {
      tilejson: '3.0.0',
      name: one ? one.title.zh : sources.map((s) => s.meta.title.zh).join(', '),
      description: one?.description?.zh ?? (one ? one.title.en : sources.map((s) => s.meta.title.en).join(', ')),
      attribution: [...new Set(sources.map((s) => s.meta.attribution).filter(Boolean))].join('; ') || undefined,
      scheme: 'xyz',
      tiles: [`${baseUrl(ctx, publicUrl)}/tiles/${ids}/{z}/{x}/{y}.mvt${query ? `?${query}` : ''}`],
      minzoom,
      maxzoom,
      bounds: box.map((v) => round(v)),
      center: [round((box[0] + box[2]) / 2), round((box[1] + box[3]) / 2), Math.max(minzoom, Math.min(maxzoom, 10))],
      vector_layers: sources.map((s) => ({
        id: s.meta.id,
        fields: s.meta.fields,
        minzoom: s.meta.minzoom,
        maxzoom: s.meta.maxzoom,
        description: s.meta.title.en,
      })),
    };
  });
}

export function union(boxes: LonLatBox[]): LonLatBox {
  return [
    Math.min(...boxes.map((b) => b[0])),
    Math.min(...boxes.map((b) => b[1])),
    Math.max(...boxes.map((b) => b[2])),
    Math.max(...boxes.map((b) => b[3])),
  ];
}

const round = (v: number) => Math.round(v * 1e6) / 1e6;

