import type { Principal } from '../access/access.ts';
import { canSee } from '../access/access.ts';
import type { QueryRunner } from '../db/query.ts';
import { HttpError, badRequest, notFound } from '../errors.ts';
import type { Metrics } from '../metrics.ts';
import type { LayerRegistry } from '../registry/registry.ts';
import type { FeatureFilter, TileSource } from '../sources/source.ts';
import type { CachedTile, TileCache } from './cache.ts';
import type { TileCoord } from './coords.ts';
import { makeTile } from './encode.ts';

const MAX_COMPOSITE = 32;

/**
 * The cache key of a tile: `layers/z/x/y`, and for a filtered tile `?filter=` with the filter's normalised text.
 * Filtered variants are indexed under their layer and coordinates like plain tiles, so a change evicts them too.
 */
export function tileKey(layers: readonly string[], { z, x, y }: TileCoord, filter?: FeatureFilter, scopes?: readonly string[] | null): string {
  return `${layers.join(',')}/${z}/${x}/${y}${filter ? `?filter=${filter.key}` : ''}${scopes ? `#scope=${scopes.join(',')}` : ''}`;
}

/**
 * The scopes a tile of these sources depends on: the principal's when one of the layers is scoped, else null,
 * so unscoped layers (and unlimited principals) share one cached tile while a district's tile has its own key.
 */
export function tileScopes(sources: readonly TileSource[], principal: Principal): readonly string[] | null {
  return principal.scopes && sources.some((s) => s.meta.scope) ? principal.scopes : null;
}

interface Flight {
  promise: Promise<CachedTile>;
  waiters: number;
  controller: AbortController;
  /** The layers' change counters when the query started: a request may join only if nothing changed since. */
  epoch: number[];
}

const sameEpoch = (a: readonly number[], b: readonly number[]) => a.every((v, i) => v === b[i]);

/**
 * Tiles for a list of layer ids: access check, zoom check, cache, and the database queries (one per layer, in
 * parallel). Identical tiles asked for at the same time share one query (a map opening in many browsers at
 * once asks for the same tiles).
 */
export class TileService {
  private readonly inflight = new Map<string, Flight>();

  constructor(
    private readonly registry: LayerRegistry,
    private readonly cache: TileCache,
    private readonly run: QueryRunner,
    private readonly metrics: Metrics,
    /** Resolves true once all changes committed so far have evicted their tiles (ChangeListener.sync). */
    private readonly caughtUp: () => Promise<boolean>,
  ) {}

  /** The sources behind `a,b,c` that the caller may see. Unknown and invisible layers are the same 404. */
  sources(ids: string, principal: Principal): TileSource[] {
    const list = ids.split(',');
    if (list.length > MAX_COMPOSITE) throw badRequest('too_many_layers', `at most ${MAX_COMPOSITE} layers in one tile`);
    if (new Set(list).size !== list.length) throw badRequest('duplicate_layer', 'a layer is named twice');
    return list.map((id) => {
      const s = this.registry.get(id);
      if (!s || !canSee(principal, s.meta)) throw notFound('unknown_layer', `no layer "${id.slice(0, 64)}"`);
      return s;
    });
  }

  /**
   * The layers that draw at zoom z. A single layer outside its zooms is a 400 naming its range; in a composite
   * such layers are left out, and only a zoom where none draws is an error.
   */
  atZoom(sources: TileSource[], z: number): TileSource[] {
    const drawn = sources.filter((s) => z >= s.meta.minzoom && z <= s.meta.maxzoom);
    if (drawn.length > 0) return drawn;
    const ranges = sources.map((s) => `${s.meta.id} supports zoom ${s.meta.minzoom}-${s.meta.maxzoom}`).join('; ');
    throw badRequest('zoom_out_of_range', `zoom ${z} is outside the supported range: ${ranges}`);
  }

  /** A tile of the layers; with `filter` (one table layer, compiled for it), only the features it keeps. */
  /**
   * `gone` makes the signal that fires when the client leaves. It is asked for only on a miss: a cache hit has
   * nothing to cancel, and the listener it would set up costs measurable time on the hottest path.
   */
  async tile(
    sources: TileSource[],
    coord: TileCoord,
    gone: () => AbortSignal,
    filter?: FeatureFilter,
    scopes: readonly string[] | null = null,
  ): Promise<CachedTile> {
    const ids = sources.map((s) => s.meta.id);
    const key = tileKey(ids, coord, filter, scopes);
    const cacheable = ids.every((id) => this.registry.isCacheable(id));
    // Read-your-writes: a hit is served only after the change listener has caught up with every commit made
    // before this request; the entry is looked up again because catching up may have evicted it.
    if (cacheable && this.cache.has(key) && (await this.caughtUp())) {
      const hit = this.cache.get(key);
      if (hit) return hit;
    } else if (cacheable) {
      this.cache.misses++;
    }
    let flight = this.inflight.has(key) ? await this.joinable(key, ids) : undefined;
    if (!flight) {
      const controller = new AbortController();
      const epoch = this.cache.epochOf(ids);
      // The sources were looked up before the awaits above. A layer redefined meanwhile (a provisional SRID
      // resolved, a stored definition replaced) has had its counter bumped already, so a tile made from its old
      // definition would be stored under the new counter and served until the next change: this request gets
      // it, nobody else does.
      const current = sources.every((s) => this.registry.get(s.meta.id) === s);
      const promise = this.query(sources, coord, controller.signal, filter, scopes, cacheable && this.cache.active).then((tile) => {
        if (cacheable && current) this.cache.set(key, ids, coord, tile, epoch);
        return tile;
      });
      const started: Flight = { promise, waiters: 0, controller, epoch };
      if (!current) return this.wait(started, gone());
      this.inflight.set(key, started);
      // A later flight may have taken the key (this one predates a change): only this one's own entry goes.
      const done = () => void (this.inflight.get(key) === started && this.inflight.delete(key));
      promise.then(done, done);
      flight = started;
    }
    return this.wait(flight, gone());
  }

  /**
   * The running query for the key, if this request may share it. A query that started before a change committed
   * would hand back the old tile, so a request joins only once the listener has caught up with every commit made
   * before it arrived and the layers' counters still read what they did when the query started.
   */
  private async joinable(key: string, ids: readonly string[]): Promise<Flight | undefined> {
    if (!(await this.caughtUp())) return undefined;
    const flight = this.inflight.get(key); // looked up again: it may have finished or been replaced meanwhile
    return flight && sameEpoch(flight.epoch, this.cache.epochOf(ids)) ? flight : undefined;
  }

  /** Wait for a shared query; the query is cancelled only when every request waiting for it has gone away. */
  private async wait(flight: Flight, signal: AbortSignal): Promise<CachedTile> {
    flight.waiters++;
    const leave = () => {
      if (--flight.waiters === 0) flight.controller.abort();
    };
    signal.addEventListener('abort', leave, { once: true });
    try {
      return await flight.promise;
    } finally {
      if (!signal.aborted) {
        signal.removeEventListener('abort', leave);
        flight.waiters--;
      }
    }
  }

  private async query(
    sources: TileSource[],
    coord: TileCoord,
    signal: AbortSignal,
    filter: FeatureFilter | undefined,
    scopes: readonly string[] | null,
    kept: boolean,
  ): Promise<CachedTile> {
    const parts = await Promise.all(
      sources.map((s) => {
        this.metrics.tileQueries.inc({ layer: s.meta.id });
        return s.getTile(coord, this.run, signal, filter, scopes).catch((err: unknown) => {
          if ((err as { code?: string }).code === '57014' && !signal.aborted)
            throw new HttpError(503, 'tile_timeout', `tile ${s.meta.id}/${coord.z}/${coord.x}/${coord.y} took too long`);
          throw err;
        });
      }),
    );
    // MVT layers are independent protobuf messages: a composite tile is their concatenation.
    return makeTile(parts.length === 1 ? parts[0]! : Buffer.concat(parts), kept);
  }
}
