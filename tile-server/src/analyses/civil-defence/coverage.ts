import { readFileSync } from 'node:fs';
import type { QueryRunner } from '../../db/query.ts';

const COVERAGE_SQL = readFileSync(new URL('./coverage.sql', import.meta.url), 'utf8');
const UNCOVERED_SQL = readFileSync(new URL('./uncovered.sql', import.meta.url), 'utf8');

type CoverageTotals = {
  population: number | null;
  shelters: number;
  shelters_in_use: number;
  capacity: number;
  usable_area_m2: number;
  sirens: number;
  working_sirens: number;
  built_up_m2: number;
  covered_m2: number;
  residential_parcels: number;
  uncovered_parcels: number;
  uncovered_m2: number;
  per_person: number;
  distance: number;
};
type CoverageRow = CoverageTotals & { adcode: string; name: string };

const ratio = (a: number, b: number | null, digits = 3) => (b ? Math.round((a / b) * 10 ** digits) / 10 ** digits : null);
const km2 = (m2: number) => Math.round(m2 / 1e4) / 100;

/** The configured service distance (civil_defence.parameters), the default of the coverage analysis. */
export async function serviceDistance(run: QueryRunner): Promise<number> {
  const rows = await run.query<{ value: string }>(`SELECT value FROM civil_defence.parameters WHERE key = 'shelter_service_distance_m'`);
  return Number(rows[0]?.value ?? 500);
}

function summarise(r: CoverageTotals) {
  return {
    population: r.population,
    shelters: r.shelters,
    shelters_in_use: r.shelters_in_use,
    capacity: r.capacity,
    /** 可掩蔽人数 ÷ population. */
    capacity_ratio: ratio(r.capacity, r.population),
    usable_area_m2: Math.round(r.usable_area_m2),
    usable_area_per_person_m2: ratio(r.usable_area_m2, r.population),
    meets_area_norm: r.population ? r.usable_area_m2 / r.population >= r.per_person : null,
    sirens: r.sirens,
    working_sirens: r.working_sirens,
    built_up_km2: km2(r.built_up_m2),
    siren_covered_km2: km2(r.covered_m2),
    /** Share of the built-up area within audible range of a working siren. */
    siren_coverage_share: ratio(r.covered_m2, r.built_up_m2),
    residential_parcels: r.residential_parcels,
    uncovered_residential_parcels: r.uncovered_parcels,
    uncovered_residential_km2: km2(r.uncovered_m2),
  };
}

/** Per district and for the whole city: shelter capacity against population, siren coverage, uncovered housing. */
export async function civilDefenceCoverage(run: QueryRunner, distanceM: number) {
  const rows = await run.query<CoverageRow>(COVERAGE_SQL, [distanceM]);
  const sum = (k: keyof CoverageTotals) => rows.reduce((s, r) => s + Number(r[k] ?? 0), 0);
  const perPerson = rows[0]?.per_person ?? 1;
  const city = summarise({
    population: rows.every((r) => r.population !== null) ? sum('population') : null,
    shelters: sum('shelters'),
    shelters_in_use: sum('shelters_in_use'),
    capacity: sum('capacity'),
    usable_area_m2: sum('usable_area_m2'),
    sirens: sum('sirens'),
    working_sirens: sum('working_sirens'),
    built_up_m2: sum('built_up_m2'),
    covered_m2: sum('covered_m2'),
    residential_parcels: sum('residential_parcels'),
    uncovered_parcels: sum('uncovered_parcels'),
    uncovered_m2: sum('uncovered_m2'),
    per_person: perPerson,
    distance: distanceM,
  });
  return {
    service_distance_m: distanceM,
    area_per_person_m2: perPerson,
    districts: rows.map((r) => ({ adcode: r.adcode, name: r.name, ...summarise(r) })),
    city,
  };
}

/** The residential parcels beyond the service distance, as a GeoJSON FeatureCollection. */
export async function uncoveredResidential(run: QueryRunner, distanceM: number, district: string | null) {
  const rows = await run.query<{ id: number; geometry: unknown } & Record<string, unknown>>(UNCOVERED_SQL, [distanceM, district]);
  return {
    type: 'FeatureCollection' as const,
    service_distance_m: distanceM,
    features: rows.map(({ id, geometry, ...properties }) => ({ type: 'Feature' as const, id, properties, geometry })),
  };
}
