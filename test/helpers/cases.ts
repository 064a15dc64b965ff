// Shared set-up of the case tests: a platform on the real layers/ with a small sample city (two districts), keys
// for each role of the loop, and places inside given districts.
import path from 'node:path';
import { rebuildSamples } from '../../data-samples/load.ts';
import { createLogger } from '../../tile-server/src/log.ts';
import { root, startTestPlatform, type TestPlatform } from './platform.ts';

export const DISTRICTS = ['320812', '320803'] as const; // 清江浦区, 淮安区

/** Rights of each role as the roles table gives them (keys hold rights directly). */
export const ROLE_RIGHTS = {
  inspector: ['case:report', 'case:verify'],
  acceptor: ['case:read', 'case:report', 'case:accept'],
  dispatcher: ['case:read', 'case:report', 'case:dispatch'],
  handler: ['case:read', 'case:handle'],
  supervisor: ['case:read', 'case:report', 'case:accept', 'case:dispatch', 'case:supervise', 'case:evaluate'],
  evaluator: ['case:read', 'case:evaluate'],
  reader: ['case:read'],
} as const;

export interface CaseWorld {
  p: TestPlatform;
  keys: Record<string, { id: number; key: string }>;
  /** A point well inside a grid cell of the district. */
  placeIn(district: string, n?: number): Promise<{ lon: number; lat: number }>;
}

export async function startCaseWorld(env: Record<string, string> = {}): Promise<CaseWorld> {
  const p = await startTestPlatform(env, { layersDir: path.join(root, 'layers'), fixtures: false });
  await rebuildSamples(p.platform.pool, createLogger('silent'), { scale: 0.3, districts: DISTRICTS, airDays: 1 });
  const keys: CaseWorld['keys'] = {};
  for (const [role, rights] of Object.entries(ROLE_RIGHTS)) keys[role] = await p.platform.keys.create('cgj', role, rights);
  keys.inspector2 = await p.platform.keys.create('cgj', 'inspector 2', ROLE_RIGHTS.inspector);
  keys.jtjHandler = await p.platform.keys.create('jtj', 'jtj handler', ROLE_RIGHTS.handler);
  keys.layerReader = await p.platform.keys.create('cgj', 'layers', ['layer:read']);
  return {
    p,
    keys,
    async placeIn(district, n = 0) {
      const { rows } = await p.sql.query<{ lon: number; lat: number }>(
        `SELECT ST_X(pt) AS lon, ST_Y(pt) AS lat FROM (
           SELECT ST_PointOnSurface(geom) AS pt FROM urban.grid_cells WHERE district_code = $1 ORDER BY code
           OFFSET $2::int % greatest((SELECT count(*) FROM urban.grid_cells WHERE district_code = $1), 1) LIMIT 1) x`,
        [district, n * 37],
      );
      if (!rows[0]) throw new Error(`no grid cell in ${district}`);
      return rows[0];
    },
  };
}
