import type pg from 'pg';
import { ImportError } from '../errors.ts';
import type { Box } from '../geometry/clean.ts';
import { projectedHint, type SourceSrs } from './srs.ts';

/**
 * Do the coordinates fit the CRS the file (or --srs) declares? Checked on the first rows, before anything is loaded,
 * because a lying .prj otherwise places data somewhere plausible-looking: projected metres under a geographic .prj,
 * degrees under a projected one (a township file landed on the equator at 115.5°E, 0.0003°N), Gauss-Kruger values
 * with the zone prefix under a .prj without it. Refused when:
 *   - a geographic CRS gets values beyond ±180/±90 (the first such row decides, as for a file with no CRS);
 *   - a projected CRS gets values that are all within ±180/±90: degrees;
 *   - PostGIS cannot transform the data's box, or the result lies outside the CRS's area: China for a Chinese CRS
 *     (CGCS2000, Xian 1980, Beijing 1954, GCJ-02, BD-09), a transverse Mercator zone's central meridian ± 6°,
 *     the world otherwise.
 * The message names the CRS declared, where the data would land, and the likely CRS from the magnitudes.
 */
export const CHINA_BOX: Box = [73, 3, 136, 54];

export interface CrsCheck {
  srs: SourceSrs;
  geographic: boolean;
  /** The box of the positions of the first rows, in the declared CRS's units (after any GCJ-02/BD-09 conversion). */
  box: Box | null;
  /** The first position of the first rows that a geographic CRS cannot hold, if any. */
  outOfRange: [number, number] | null;
}

export async function checkCoordinates(client: pg.ClientBase, c: CrsCheck): Promise<void> {
  const { srs } = c;
  const declared = `${srs.origin === 'option' ? '--srs' : 'the file'} says ${srs.label}${srs.detail ? ` (${srs.detail})` : ''}`;
  const refuse = (what: string, x: number, y: number) =>
    new ImportError(`${declared}, but ${what}: ${likelyCrs(x, y)}; nothing was imported`, 'unknown_crs');
  if (c.geographic && c.outOfRange) {
    const [x, y] = c.outOfRange;
    if (Math.abs(x) > 360 || Math.abs(y) > 180) throw refuse('its coordinates are not degrees', x, y);
  }
  if (!c.box || !c.box.every(Number.isFinite)) return;
  const [w, s, e, n] = c.box;
  const [cx, cy] = [(w + e) / 2, (s + n) / 2];
  if (!c.geographic && Math.max(Math.abs(w), Math.abs(e)) <= 180 && Math.max(Math.abs(s), Math.abs(n)) <= 90)
    throw refuse(`the coordinates (${w}…${e}, ${s}…${n}) are all within ±180/±90, as degrees are`, cx, cy);
  const area = await areaOf(client, srs);
  const landed = c.geographic || srs.offset ? c.box : await transformBox(client, c.box, srs.srid);
  if (!landed) throw refuse(`PostGIS cannot transform the coordinates around (${round(cx)}, ${round(cy)}) from it`, cx, cy);
  const [lw, ls, le, ln] = landed;
  if (lw < area.box[0] || ls < area.box[1] || le > area.box[2] || ln > area.box[3])
    throw refuse(`the data would land at ${round(lw)}…${round(le)}°E, ${round(ls)}…${round(ln)}°N, outside ${area.name}`, cx, cy);
}

/**
 * The likely CRS of coordinates from their magnitudes: degrees, web mercator over China, a 3° or 6° Gauss-Kruger zone
 * with its zone prefix (40408613 → zone 40) or without (408613, 3720871 → Huai'an's CM 120E).
 */
export function likelyCrs(x: number, y: number): string {
  if (Math.abs(x) <= 180 && Math.abs(y) <= 90)
    return `coordinates (${round(x)}, ${round(y)}) look like degrees (longitude, latitude); pass --srs EPSG:4326 (WGS84, or EPSG:4490 for CGCS2000 degrees)`;
  return projectedHint(x, y);
}

async function areaOf(client: pg.ClientBase, srs: SourceSrs): Promise<{ box: Box; name: string }> {
  const { rows } = await client.query<{ srtext: string | null; proj4text: string | null }>(`SELECT srtext, proj4text FROM spatial_ref_sys WHERE srid = $1`, [srs.srid]);
  const srtext = rows[0]?.srtext ?? '';
  const proj4 = ` ${rows[0]?.proj4text ?? ''} `;
  if (srs.offset || /CGCS|China Geodetic|Xian|Xi'an|Beijing|New_Beijing/i.test(srtext)) return { box: CHINA_BOX, name: `China (${CHINA_BOX.join(', ')}), where ${srs.label} is used` };
  if (/\+proj=(tmerc|utm)\s/.test(proj4)) {
    const zone = /\s\+zone=(\d+)/.exec(proj4)?.[1];
    const lon0 = zone ? Number(zone) * 6 - 183 : Number(/\s\+lon_0=(-?[\d.]+)/.exec(proj4)?.[1] ?? 0);
    return { box: [lon0 - 6, -85, lon0 + 6, 85], name: `the zone of ${srs.label} (central meridian ${lon0}° ± 6°)` };
  }
  return { box: [-180, -90, 180, 90], name: 'the world' };
}

/** The box transformed to WGS84 by PostGIS (densified, so a curved image is covered); null when it cannot be. */
async function transformBox(client: pg.ClientBase, [w, s, e, n]: Box, srid: number): Promise<Box | null> {
  await client.query('SAVEPOINT crs_check');
  try {
    const { rows } = await client.query<{ w: number; s: number; e: number; n: number }>(
      `SELECT ST_XMin(g) AS w, ST_YMin(g) AS s, ST_XMax(g) AS e, ST_YMax(g) AS n
       FROM (SELECT ST_Transform(ST_Segmentize(ST_MakeEnvelope($1, $2, $3, $4, $5), greatest($3 - $1, $4 - $2, 1e-9) / 8), 4326) AS g) AS t`,
      [w, s, e, n, srid],
    );
    await client.query('RELEASE SAVEPOINT crs_check');
    const r = rows[0]!;
    return [r.w, r.s, r.e, r.n].every(Number.isFinite) ? [r.w, r.s, r.e, r.n] : null;
  } catch {
    await client.query('ROLLBACK TO SAVEPOINT crs_check');
    return null;
  }
}

const round = (v: number) => (Math.abs(v) >= 1000 ? Math.round(v) : Math.round(v * 1e4) / 1e4);
