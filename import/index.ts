/**
 * The import pipeline's programmatic API, for the CLI (import/cli.ts), the HTTP API (routes/imports.ts) and any
 * other part of the platform that loads files (data-samples/):
 *
 *   const summary = await importFile({ pool, file: 'districts.shp', layer: 'districts', srs: 'gcj02' });
 */
import type { ImportOptions, ImportSummary } from './options.ts';
import type { VehicleSummary } from './vehicles/vehicle-import.ts';
import { importLayer, type RunOptions } from './layer-import.ts';

export { ImportError } from './errors.ts';
export type { ImportOptions, ImportProgress, ImportSummary, Rejected } from './options.ts';
export type { RunOptions } from './layer-import.ts';
export type { VehicleSummary } from './vehicles/vehicle-import.ts';

/** Import a file as a layer (create, replace or append): one transaction, the layer served at commit. */
export function importFile(options: ImportOptions & RunOptions): Promise<ImportSummary> {
  return importLayer(options);
}

/** Load a GPS log into the vehicle store (loaded on first use, like the format readers). */
export async function importVehicleFile(options: ImportOptions & RunOptions): Promise<VehicleSummary> {
  return (await import('./vehicles/vehicle-import.ts')).importVehicleFile(options);
}
