import type pg from 'pg';
import { importReadings, POLLUTANT_COLUMNS, type ReadingsImportResult } from '../../tile-server/src/analyses/air/readings-import.ts';

/**
 * Hourly readings for every air station, written as a CNEMC CSV and imported through the platform's readings
 * import (so the sample AQI is computed exactly as for real files). The period ends 2026-03-14 23:00 China time,
 * so 30 days span the switch from HJ 633-2012 to HJ 633-2026 on 2026-03-01. Concentrations follow a shared
 * weather signal with a pollution episode, daily cycles (PM and NO2 at rush hours, O3 in the afternoon), a
 * station factor and noise; 24-hour and 8-hour values are true sliding means; about 0.5% of values are missing.
 */
const END = Date.parse('2026-03-14T23:00:00+08:00');
const HOUR = 3600_000;

/** mulberry32: a small, fast PRNG, seeded per stream so each station's series is independent of the others. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a of a text, to seed a stream from (seed, name). */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

const gauss = (r: () => number) => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());

/** The shared weather: stagnant spells (high) and clean-air fronts (low), with one marked episode. */
function weather(seed: number, hours: number, start: number): number[] {
  const r = prng(hash(`weather:${seed}`));
  const waves = [3, 4.5, 7].map((days) => ({ period: days * 24, phase: r() * 2 * Math.PI, amp: 0.15 + r() * 0.2 }));
  const episodeAt = Math.floor(hours * (0.35 + r() * 0.3));
  return Array.from({ length: hours }, (_, i) => {
    const t = (start + i * HOUR) / HOUR;
    const base = 1 + waves.reduce((s, w) => s + w.amp * Math.sin((2 * Math.PI * t) / w.period + w.phase), 0);
    const episode = 1.6 * Math.exp(-(((i - episodeAt) / 30) ** 2));
    return Math.max(0.35, base + episode);
  });
}

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const round = (v: number, digits: number) => Number(v.toFixed(digits));

interface Station {
  code: string;
  name: string;
  kind: string;
  lon: number;
  lat: number;
}

/** One station's rows (warm-up day included for the sliding means, then dropped). */
function stationRows(seed: number, s: Station, hours: number, start: number, w: number[]): string[] {
  const r = prng(hash(`${seed}:${s.code}`));
  const factor = (s.kind === '国控' ? 1.1 : s.kind === '省控' ? 1.0 : 0.9) * (0.9 + r() * 0.2);
  const noise = () => Math.exp(0.15 * gauss(r));
  const series: Record<'so2' | 'no2' | 'co' | 'o3' | 'pm10' | 'pm2_5', number[]> = { so2: [], no2: [], co: [], o3: [], pm10: [], pm2_5: [] };
  for (let i = 0; i < hours; i++) {
    const hour = new Date(start + i * HOUR + 8 * HOUR).getUTCHours();
    const rush = 1 + 0.25 * Math.cos((2 * Math.PI * (hour - 8)) / 12);
    const sun = Math.max(0, Math.sin((Math.PI * (hour - 7)) / 12));
    const pm25 = 42 * w[i]! * rush * factor * noise();
    series.pm2_5.push(pm25);
    series.pm10.push(pm25 * (1.45 + 0.3 * r()) * noise());
    series.so2.push(8 * w[i]! * factor * noise());
    series.no2.push(28 * w[i]! * rush * factor * noise());
    series.co.push(0.7 * w[i]! * factor * noise());
    series.o3.push((25 + 110 * sun) / Math.sqrt(w[i]!) * noise());
  }
  const window = (xs: number[], i: number, n: number) => mean(xs.slice(Math.max(0, i - n + 1), i + 1));
  const out: string[] = [];
  for (let i = 24; i < hours; i++) {
    const cells: Record<(typeof POLLUTANT_COLUMNS)[number], number> = {
      so2: round(series.so2[i]!, 0),
      so2_24h: round(window(series.so2, i, 24), 0),
      no2: round(series.no2[i]!, 0),
      no2_24h: round(window(series.no2, i, 24), 0),
      co: round(series.co[i]!, 1),
      co_24h: round(window(series.co, i, 24), 1),
      o3: round(series.o3[i]!, 0),
      o3_8h: round(window(series.o3, i, 8), 0),
      pm10: round(series.pm10[i]!, 0),
      pm10_24h: round(window(series.pm10, i, 24), 0),
      pm2_5: round(series.pm2_5[i]!, 0),
      pm2_5_24h: round(window(series.pm2_5, i, 24), 0),
    };
    const t = new Date(start + i * HOUR + 8 * HOUR).toISOString();
    const timepoint = `${t.slice(0, 10)} ${t.slice(11, 19)}`;
    const values = POLLUTANT_COLUMNS.map((c) => (r() < 0.005 ? '' : String(cells[c])));
    out.push([timepoint, s.code, s.name, s.lon, s.lat, ...values].join(','));
  }
  return out;
}

/** Generate and import the readings of every station in the database. */
export async function generateAirReadings(client: pg.ClientBase, opts: { seed: number; days: number }): Promise<ReadingsImportResult> {
  const { rows: stations } = await client.query<Station>(
    `SELECT code, name, kind, round(ST_X(geom)::numeric, 6)::float8 AS lon, round(ST_Y(geom)::numeric, 6)::float8 AS lat
     FROM environment.air_stations ORDER BY code`,
  );
  const hours = (opts.days + 1) * 24;
  const start = END - (hours - 1) * HOUR;
  const w = weather(opts.seed, hours, start);
  const header = ['timepoint', 'stationcode', 'positionname', 'longitude', 'latitude', ...POLLUTANT_COLUMNS].join(',');
  const csv = [header, ...stations.flatMap((s) => stationRows(opts.seed, s, hours, start, w))].join('\n');
  return importReadings(client, csv);
}
