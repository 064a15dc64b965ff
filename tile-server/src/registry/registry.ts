import type { Logger } from 'pino';
import type { QueryRunner } from '../db/query.ts';
import { PostgisFunctionSource } from '../sources/postgis-function.ts';
import { PostgisTableSource, type TileOptions } from '../sources/postgis-table.ts';
import type { Dependency, TileSource } from '../sources/source.ts';
import { contribRelations, sampleGeometry } from './catalog.ts';
import type { AccessLevel, LayerDefinition } from './definition.ts';
import { loadStoredDefinitions } from './load.ts';

export interface RegistryDeps {
  run: QueryRunner;
  log: Logger;
  definitions: readonly LayerDefinition[];
  tileOptions: TileOptions;
  contribAccess: AccessLevel;
  contribOwner: string;
  /** Called when a layer's tiles must all go (re-resolved, dropped). */
  onLayerChanged(id: string): void;
}

interface Watcher {
  layer: string;
  precision: Dependency['precision'];
}

/**
 * Every layer the server knows, by id: the layers/ definitions (resolved once at start), the definitions stored
 * in citybase.layer_definitions (imported layers) and the tables of schema contrib — the last two rescanned on
 * catalog notifications and on a timer. Ids are taken in that order: a file wins over a stored definition, which
 * wins over a contrib table. Also knows which layers each table feeds, for the change notifications.
 */
export class LayerRegistry {
  private readonly sources = new Map<string, TileSource>();
  private readonly contrib = new Map<string, string>(); // table → fingerprint
  private readonly stored = new Map<string, string>(); // stored definition id → fingerprint
  private readonly fileIds: ReadonlySet<string>;
  private lastRefresh = 0;
  private soon: NodeJS.Timeout | null = null;
  private readonly watchers = new Map<string, Watcher[]>(); // schema.table → layers fed by it
  private readonly uncacheable = new Set<string>();
  readonly unavailable = new Map<string, string>(); // layer id → why it is not served
  private refreshing: Promise<void> | null = null;
  private again = false;

  constructor(private readonly deps: RegistryDeps) {
    this.fileIds = new Set(deps.definitions.map((d) => d.id));
  }

  /** Resolve every definition; a source that is missing is reported and left out, not fatal. */
  async init(): Promise<void> {
    for (const def of this.deps.definitions) {
      try {
        await this.add(await this.resolve(def));
      } catch (err) {
        this.unavailable.set(def.id, (err as Error).message);
        this.deps.log.error({ layer: def.id, err: (err as Error).message }, 'layer not available');
      }
    }
    await this.refresh();
  }

  get(id: string): TileSource | undefined {
    return this.sources.get(id);
  }

  list(): TileSource[] {
    return [...this.sources.values()].sort((a, b) => a.meta.id.localeCompare(b.meta.id));
  }

  /** Whether a layer's tiles may be kept in memory. */
  isCacheable(id: string): boolean {
    const s = this.sources.get(id);
    return !!s && s.cacheable && !this.uncacheable.has(id);
  }

  /** An auto-published layer whose SRID is still a guess (its untyped column was empty). */
  isProvisional(id: string): boolean {
    const s = this.sources.get(id);
    return s instanceof PostgisTableSource && s.provisional;
  }

  /** Layers a table feeds, and how precisely its notifications locate a change. */
  watchersOf(table: string): readonly Watcher[] {
    return this.watchers.get(table) ?? [];
  }

  /**
   * A refresh because a provisional layer's table changed (its first rows may tell the SRID), at most once a
   * second: a view that stays empty (no published cases yet) would otherwise make every write to its table
   * rescan the catalog.
   */
  refreshSoon(): void {
    if (this.soon) return;
    const wait = Math.max(0, this.lastRefresh + 1000 - Date.now());
    this.soon = setTimeout(() => {
      this.soon = null;
      void this.refresh();
    }, wait);
    this.soon.unref();
  }

  /** layers/ definitions whose untyped geometry column was empty at start: resolved again once data tells the SRID. */
  private async resolveProvisionalFiles(): Promise<void> {
    for (const def of this.deps.definitions) {
      const current = this.sources.get(def.id);
      if (!(current instanceof PostgisTableSource) || !current.provisional) continue;
      const source = await this.resolve(def);
      if (source instanceof PostgisTableSource && source.provisional) continue;
      this.unwatch(def.id);
      await this.add(source);
      this.deps.log.info({ layer: def.id }, 'layer resolved again: its data now tells the SRID');
    }
  }

  /** The former name of refresh(), kept for callers. */
  refreshContrib(): Promise<void> {
    return this.refresh();
  }

  /**
   * Re-read the stored definitions and rescan schema contrib. Concurrent calls coalesce into one running scan
   * plus at most one more.
   */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.again = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.again = false;
        await this.scanStored().catch((err) => this.deps.log.warn({ err: (err as Error).message }, 'stored definitions scan failed'));
        await this.scanContrib().catch((err) => this.deps.log.warn({ err: (err as Error).message }, 'contrib scan failed'));
        await this.resolveProvisionalFiles().catch((err) => this.deps.log.warn({ err: (err as Error).message }, 'provisional layers scan failed'));
      } while (this.again);
      this.lastRefresh = Date.now();
    })().finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  /**
   * Definitions the importer stores with each import. The fingerprint changes with every import, so a swapped
   * table is resolved again (columns, triggers); one whose table is missing is reported and retried next scan.
   */
  private async scanStored(): Promise<void> {
    const found = await loadStoredDefinitions(this.deps.run);
    const seen = new Set<string>();
    for (const s of found) {
      seen.add(s.id);
      if (this.stored.get(s.id) === s.fingerprint) continue;
      const taken = this.fileIds.has(s.id) ? 'a layers/ definition' : this.contrib.has(s.id) ? 'a contrib table' : null;
      const problem = taken ? `stored definition not used: its id is taken by ${taken}` : s.def ? null : s.errors.join('; ');
      if (problem || !s.def) {
        if (!taken) this.remove(s.id);
        this.unavailable.set(s.id, problem ?? 'invalid');
        this.stored.set(s.id, s.fingerprint);
        this.deps.log.warn({ layer: s.id, err: problem }, 'stored layer definition not used');
        continue;
      }
      try {
        const source = await this.resolve(s.def);
        // Replaced in place: the old version serves until the new one is ready.
        this.unwatch(s.id);
        await this.add(source);
        this.stored.set(s.id, s.fingerprint);
        this.unavailable.delete(s.id);
        this.deps.log.info({ layer: s.id }, 'stored layer published');
      } catch (err) {
        this.remove(s.id);
        this.stored.delete(s.id);
        this.unavailable.set(s.id, (err as Error).message);
        this.deps.log.warn({ layer: s.id, err: (err as Error).message }, 'stored layer not available');
      }
    }
    for (const id of [...this.stored.keys()]) {
      if (seen.has(id)) continue;
      this.stored.delete(id);
      if (!this.fileIds.has(id) && !this.contrib.has(id)) {
        this.remove(id);
        this.unavailable.delete(id);
        this.deps.log.info({ layer: id }, 'stored layer withdrawn');
      }
    }
  }

  private async scanContrib(): Promise<void> {
    const found = await contribRelations(this.deps.run);
    const seen = new Set<string>();
    for (const { table, geometryColumn, fingerprint } of found) {
      seen.add(table);
      if (this.contrib.get(table) === fingerprint) {
        // Re-attaching triggers is DDL that wakes this scan again: only re-resolve once the data tells the SRID.
        if (!this.isProvisional(table)) continue;
        const sample = await sampleGeometry(this.deps.run, 'contrib', table, geometryColumn);
        if (sample.srid === null) continue;
      }
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(table) || (this.sources.has(table) && !this.contrib.has(table))) {
        this.deps.log.warn({ table }, 'contrib table not published: its name is not a plain identifier or is taken by a layer');
        this.contrib.set(table, fingerprint);
        continue;
      }
      try {
        const source = await PostgisTableSource.resolve(this.contribDefinition(table, geometryColumn), this.deps.run, this.deps.tileOptions, 'contrib');
        // Replaced in place: the old version serves until the new one is ready.
        this.unwatch(table);
        await this.add(source);
        this.contrib.set(table, fingerprint);
        this.deps.log.info({ layer: table }, 'contrib table published');
      } catch (err) {
        this.deps.log.warn({ table, err: (err as Error).message }, 'contrib table not published');
      }
    }
    for (const table of [...this.contrib.keys()]) {
      if (seen.has(table)) continue;
      this.contrib.delete(table);
      this.remove(table);
      this.deps.log.info({ layer: table }, 'contrib table withdrawn');
    }
  }

  private contribDefinition(table: string, geometryColumn: string): LayerDefinition {
    return {
      id: table,
      title: { zh: table, en: table },
      theme: 'contrib',
      owner: this.deps.contribOwner,
      access: this.deps.contribAccess,
      allow: [],
      source: { type: 'table', schema: 'contrib', table },
      geometryColumn,
      properties: {},
      minzoom: 0,
      maxzoom: 22,
      simplify: [{ maxzoom: 14, tolerancePx: 0.5 }],
      maxFeatures: 50_000,
      style: [],
      legend: [],
    };
  }

  private resolve(def: LayerDefinition): Promise<TileSource> {
    return def.source.type === 'function'
      ? PostgisFunctionSource.resolve(def, this.deps.run)
      : PostgisTableSource.resolve(def, this.deps.run, this.deps.tileOptions);
  }

  /** Attach the change triggers first, then publish: a layer is never served before its changes can be heard. */
  private async add(source: TileSource): Promise<void> {
    const id = source.meta.id;
    let watched = true;
    for (const dep of source.dependencies) {
      const list = this.watchers.get(dep.table) ?? [];
      list.push({ layer: id, precision: dep.precision });
      this.watchers.set(dep.table, list);
      if (!(await this.watch(dep, source))) watched = false;
    }
    if (!watched) this.uncacheable.add(id);
    this.sources.set(id, source);
    this.deps.onLayerChanged(id);
  }

  private remove(id: string): void {
    if (!this.sources.delete(id)) return;
    this.unwatch(id);
    this.deps.onLayerChanged(id);
  }

  private unwatch(id: string): void {
    this.uncacheable.delete(id);
    for (const [table, list] of this.watchers) {
      const rest = list.filter((w) => w.layer !== id);
      if (rest.length) this.watchers.set(table, rest);
      else this.watchers.delete(table);
    }
  }

  /**
   * Attach the change triggers to a table. The trigger reports boxes of the geometry column that the table's
   * bbox-precise layers draw; layers that need everything evicted (views, functions) need no more than that.
   * Two such layers on different geometry columns would get each other's boxes, so the table then reports
   * whole-table changes. Materialized views cannot carry triggers; the event trigger reports their REFRESH.
   */
  private async watch(dep: Dependency, adding: TileSource): Promise<boolean> {
    const feeding = (this.watchers.get(dep.table) ?? []).flatMap(
      (w) => (w.layer === adding.meta.id ? adding : this.sources.get(w.layer))?.dependencies ?? [],
    );
    const columns = new Set(
      feeding
        .filter((d) => d.table === dep.table && d.precision === 'bbox')
        .map((d) => d.geometryColumn ?? ''),
    );
    const column = columns.size === 1 ? [...columns][0]! : '';
    const srid = feeding.find((d) => d.table === dep.table && d.precision === 'bbox')?.srid ?? 0;
    try {
      await this.deps.run.query(
        `SELECT citybase.watch_table(c.oid::regclass, $2, $3)
         FROM pg_class c WHERE c.oid = to_regclass($1) AND c.relkind IN ('r', 'p')`,
        [dep.table, column, srid],
      );
      return true;
    } catch (err) {
      this.deps.log.warn({ table: dep.table, err: (err as Error).message }, 'cannot watch table for changes; its layers are not cached');
      return false;
    }
  }
}
