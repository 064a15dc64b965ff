import { LRUCache } from 'lru-cache';
import { inRange, rangeSize, tilesCovering, type LonLatBox, type TileCoord } from './coords.ts';

/** One cached tile: the raw MVT and the compressed forms made so far, with its strong validator. */
export interface CachedTile {
  readonly raw: Buffer;
  readonly etag: string;
  /** Kept in the cache: its compressed forms are made once and served many times, so they may cost more. */
  readonly kept: boolean;
  gzip?: Buffer;
  br?: Buffer;
}

interface Entry {
  tile: CachedTile;
  layers: readonly string[];
  coord: TileCoord;
}

/** Fixed bookkeeping cost per entry (key, maps, object headers), so a cache of empty tiles is bounded too. */
const ENTRY_OVERHEAD = 256;

/**
 * The in-memory tile cache. Bounded in bytes (LRU). Beside the LRU it keeps, per layer and zoom, which tiles are
 * cached, so a change reported as a box evicts exactly the tiles covering it at every zoom and nothing else.
 *
 * Epochs close the race between a tile query and a change committed while it runs: a tile is stored only if no
 * change to any of its layers was reported since its query started.
 */
export class TileCache {
  private readonly lru: LRUCache<string, Entry> | null;
  /** layer → zoom → "x/y" → cache keys (plain and filtered variants, composites). */
  private readonly index = new Map<string, Map<number, Map<string, Set<string>>>>();
  private readonly epochs = new Map<string, number>();
  private enabled = true;
  hits = 0;
  misses = 0;

  constructor(
    maxBytes: number,
    private readonly bufferFraction: number,
  ) {
    this.lru =
      maxBytes > 0
        ? new LRUCache<string, Entry>({
            maxSize: maxBytes,
            sizeCalculation: (e) => ENTRY_OVERHEAD + e.tile.raw.length + (e.tile.gzip?.length ?? 0) + (e.tile.br?.length ?? 0),
            dispose: (e, key) => this.unindex(key, e),
          })
        : null;
  }

  /** Whether tiles can be served from and stored in memory (off when configured 0 or while changes cannot be heard). */
  get active(): boolean {
    return this.lru !== null && this.enabled;
  }

  get bytes(): number {
    return this.lru?.calculatedSize ?? 0;
  }

  get size(): number {
    return this.lru?.size ?? 0;
  }

  /** Whether a tile is cached, without touching recency or the hit/miss counts. */
  has(key: string): boolean {
    return this.active && this.lru!.has(key);
  }

  get(key: string): CachedTile | undefined {
    if (!this.active) return undefined;
    const e = this.lru!.get(key);
    if (e) this.hits++;
    else this.misses++;
    return e?.tile;
  }

  /** The current change counter of the layers, taken before a tile query starts. */
  epochOf(layers: readonly string[]): number[] {
    return layers.map((l) => this.epochs.get(l) ?? 0);
  }

  /** Store a tile unless one of its layers changed since `epoch` was taken. */
  set(key: string, layers: readonly string[], coord: TileCoord, tile: CachedTile, epoch: number[]): void {
    if (!this.active) return;
    if (layers.some((l, i) => (this.epochs.get(l) ?? 0) !== epoch[i])) return;
    this.lru!.set(key, { tile, layers, coord });
    // lru-cache silently refuses an entry larger than the whole cache; only what it kept is indexed.
    if (this.lru!.has(key)) this.indexAdd(key, layers, coord);
  }

  /** Re-store a tile after adding a compressed form, so the byte accounting stays true. */
  update(key: string, tile: CachedTile): void {
    const e = this.lru?.peek(key);
    if (!e || e.tile !== tile) return;
    // A new entry object: lru-cache recomputes the size only when the stored value changes.
    this.lru!.set(key, { ...e });
    if (this.lru!.has(key)) this.indexAdd(key, e.layers, e.coord);
  }

  /** Evict the layer's tiles that cover any of the boxes, at every cached zoom. Returns how many were evicted. */
  evictBoxes(layer: string, boxes: readonly LonLatBox[]): number {
    this.bump(layer);
    const zooms = this.index.get(layer);
    if (!zooms) return 0;
    const doomed = new Set<string>();
    for (const [z, tiles] of zooms) {
      for (const box of boxes) {
        const r = tilesCovering(box, z, this.bufferFraction);
        // Walk whichever is smaller: the covered tile range or the cached tiles at this zoom.
        if (rangeSize(r) <= tiles.size) {
          for (let x = r.minX; x <= r.maxX; x++)
            for (let y = r.minY; y <= r.maxY; y++) tiles.get(`${x}/${y}`)?.forEach((k) => doomed.add(k));
        } else {
          for (const [xy, keys] of tiles) {
            const [x, y] = xy.split('/').map(Number) as [number, number];
            if (inRange(r, x, y)) keys.forEach((k) => doomed.add(k));
          }
        }
      }
    }
    for (const key of doomed) this.lru!.delete(key);
    return doomed.size;
  }

  /** Evict every cached tile of the layer. */
  evictLayer(layer: string): number {
    this.bump(layer);
    const zooms = this.index.get(layer);
    if (!zooms) return 0;
    const doomed = new Set<string>();
    for (const tiles of zooms.values()) for (const keys of tiles.values()) keys.forEach((k) => doomed.add(k));
    for (const key of doomed) this.lru!.delete(key);
    return doomed.size;
  }

  /** Drop everything; with enabled=false nothing is served or stored until enabled again (the listener is down). */
  reset(enabled: boolean): void {
    for (const layer of this.index.keys()) this.bump(layer);
    for (const layer of this.epochs.keys()) this.bump(layer);
    this.lru?.clear();
    this.index.clear();
    this.enabled = enabled;
  }

  private bump(layer: string): void {
    this.epochs.set(layer, (this.epochs.get(layer) ?? 0) + 1);
  }

  private indexAdd(key: string, layers: readonly string[], coord: TileCoord): void {
    for (const layer of layers) {
      let zooms = this.index.get(layer);
      if (!zooms) this.index.set(layer, (zooms = new Map()));
      let tiles = zooms.get(coord.z);
      if (!tiles) zooms.set(coord.z, (tiles = new Map()));
      const xy = `${coord.x}/${coord.y}`;
      let keys = tiles.get(xy);
      if (!keys) tiles.set(xy, (keys = new Set()));
      keys.add(key);
    }
  }

  private unindex(key: string, e: Entry): void {
    const xy = `${e.coord.x}/${e.coord.y}`;
    for (const layer of e.layers) {
      const tiles = this.index.get(layer)?.get(e.coord.z);
      const keys = tiles?.get(xy);
      if (!keys) continue;
      keys.delete(key);
      if (keys.size === 0) tiles!.delete(xy);
    }
  }
}
