import type { Context } from 'koa';
import type { Principal } from '../access/access.ts';
import { canSee } from '../access/access.ts';
import { badRequest, notFound } from '../errors.ts';
import type { LayerRegistry } from '../registry/registry.ts';

/**
 * Query parameters of the analyses, strictly: an unknown or repeated parameter is a 400 naming it, so a typo
 * (`pm25_24h`) is never silently ignored. `key` (the API key) is always allowed.
 */
export function queryParams(ctx: Context, allowed: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(ctx.query)) {
    if (name === 'key') continue;
    if (!allowed.includes(name))
      throw badRequest('unknown_parameter', `unknown parameter "${name.slice(0, 40)}" (allowed: ${allowed.join(', ')})`);
    if (typeof value !== 'string') throw badRequest('invalid_parameter', `${name}: give it once`);
    out[name] = value;
  }
  return out;
}

const DECIMAL = /^-?\d+(\.\d+)?$/;
const MAX_DIGITS = 32;

/** A decimal number parameter within [min, max]; undefined when absent (an error when required). */
export function numberParam(
  params: Record<string, string>,
  name: string,
  opts: { min?: number; max?: number; required?: boolean; what?: string } = {},
): number | undefined {
  const raw = params[name];
  if (raw === undefined || raw === '') {
    if (opts.required) throw badRequest('missing_parameter', `${name} is required${opts.what ? ` (${opts.what})` : ''}`);
    return undefined;
  }
  if (!DECIMAL.test(raw)) throw badRequest('invalid_parameter', `${name}: "${raw.slice(0, 40)}" is not a number`);
  // No measurement has more digits than a double holds; 400 nines would read as Infinity (JSON null).
  if (raw.length > MAX_DIGITS) throw badRequest('invalid_parameter', `${name}: a number of at most ${MAX_DIGITS} characters`);
  const v = Number(raw);
  if (!Number.isFinite(v)) throw badRequest('invalid_parameter', `${name}: "${raw.slice(0, 40)}" is not a finite number`);
  if (opts.min !== undefined && v < opts.min) throw badRequest('invalid_parameter', `${name}: ${raw} is below ${opts.min}`);
  if (opts.max !== undefined && v > opts.max) throw badRequest('invalid_parameter', `${name}: ${raw} is above ${opts.max}`);
  return v;
}

/** A WGS84 position from lon and lat. */
export function position(params: Record<string, string>): { lon: number; lat: number } {
  return {
    lon: numberParam(params, 'lon', { min: -180, max: 180, required: true, what: 'WGS84 longitude' })!,
    lat: numberParam(params, 'lat', { min: -90, max: 90, required: true, what: 'WGS84 latitude' })!,
  };
}

/**
 * The access rule of the layers an analysis reads: the caller must be able to see every one of them, else the
 * answer is the same 404 as for an unknown layer (a restricted layer's existence does not leak).
 */
export function requireLayers(registry: LayerRegistry, principal: Principal, ids: readonly string[]): void {
  for (const id of ids) {
    const source = registry.get(id);
    if (!source || !canSee(principal, source.meta)) throw notFound('unknown_layer', `no layer "${id}"`);
  }
}
