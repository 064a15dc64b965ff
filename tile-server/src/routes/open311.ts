import { randomBytes } from 'node:crypto';
import type Router from '@koa/router';
import type { Context } from 'koa';
import type pg from 'pg';
import type { AppState } from '../app.ts';
import { requireRight, type Principal } from '../access/access.ts';
import type { KeyStore } from '../access/keys.ts';
import { HttpError, notFound } from '../errors.ts';
import {
  errorBody, listRequests, missing, oneRequest, open311Status, serviceDefinition, services, tokenRequest, urgencyOf, xml, type Format,
} from '../cases/open311.ts';
import { processPhoto, type ProcessedPhoto } from '../cases/photos.ts';
import { parseReport, reportCase } from '../cases/report.ts';
import { readMultipart } from '../cases/upload.ts';

export interface Open311Deps {
  pool: pg.Pool;
  keys: KeyStore;
  photoMaxMB: number;
  /** Places an address_string (the platform's geocoder, exact matches only); absent: lat/long are required. */
  locate?: (address: string, principal: Principal) => Promise<{ point: [number, number]; name: string } | { point: null; candidates: string[] }>;
}

const FORMATS = ['json', 'xml'];

/**
 * Open311 GeoReport v2 at /open311/v2/: services, service definitions, requests (POST with an api_key holding
 * case:report), tokens. The format is the suffix; errors are the spec's list of {code, description}, so this
 * door answers its own errors (the platform's boundary still catches anything else).
 */
export function open311Routes(router: Router<AppState>, deps: Open311Deps): void {
  const { pool } = deps;
  const route = (path: string, method: 'get' | 'post', handler: (ctx: Context & { params: Record<string, string> }) => Promise<{ root: string; item: string | null; body: unknown }>) => {
    router[method](path, async (ctx) => {
      ctx.state.route = 'open311';
      const format = ctx.params.format as Format;
      try {
        if (!FORMATS.includes(format)) throw notFound('unknown_format', 'formats: json, xml');
        const out = await handler(ctx as Context & { params: Record<string, string> });
        ctx.set('Cache-Control', 'no-store');
        if (format === 'xml') {
          ctx.type = 'application/xml; charset=utf-8';
          ctx.body = xml(out.root, out.item, out.body);
        } else ctx.body = out.body;
      } catch (err) {
        if (!(err instanceof HttpError) || err.status >= 500) throw err;
        const status = open311Status(err);
        const f: Format = format === 'xml' ? 'xml' : 'json';
        ctx.status = status;
        if (f === 'xml') ctx.type = 'application/xml; charset=utf-8';
        ctx.body = errorBody(f, status, err.message);
      }
    });
  };

  route('/open311/v2/services.:format', 'get', async () => ({ root: 'services', item: 'service', body: await services(pool) }));
  route('/open311/v2/services/:code.:format', 'get', async (ctx) => ({ root: 'service_definition', item: null, body: await serviceDefinition(pool, ctx.params.code!) }));
  route('/open311/v2/requests.:format', 'get', async (ctx) => ({ root: 'service_requests', item: 'request', body: await listRequests(pool, ctx.query as Record<string, string>) }));
  route('/open311/v2/requests/:id.:format', 'get', async (ctx) => ({ root: 'service_requests', item: 'request', body: [await oneRequest(pool, ctx.params.id!)] }));
  route('/open311/v2/tokens/:token.:format', 'get', async (ctx) => ({ root: 'service_requests', item: 'request', body: [await tokenRequest(pool, ctx.params.token!)] }));

  route('/open311/v2/requests.:format', 'post', async (ctx) => {
    const { fields, photos } = await readForm(ctx, deps.photoMaxMB);
    const value = (k: string) => (fields[k] === undefined || fields[k] === '' ? undefined : fields[k]);
    const apiKey = value('api_key');
    if (!apiKey) throw new HttpError(403, 'missing_api_key', 'api_key is required to create a request');
    let principal;
    try {
      principal = await deps.keys.principal(apiKey);
    } catch {
      throw new HttpError(403, 'invalid_api_key', 'Invalid api_key received -- can\'t proceed with create_request.');
    }
    requireRight(principal, 'case:report');
    const code = value('service_code');
    if (!code) throw missing('service_code');
    await serviceDefinition(pool, code); // 404 for an unknown service
    const lat = value('lat');
    const long = value('long');
    if ((lat === undefined) !== (long === undefined)) throw new HttpError(400, 'invalid_location', 'give both lat and long');
    let located: [number, number] | null = null;
    const address = value('address_string');
    if (lat === undefined && address && deps.locate) {
      const found = await deps.locate(address, principal);
      if (found.point) located = found.point;
      else if (!photos.some((p) => p.lon !== null))
        throw new HttpError(
          400,
          'address_not_located',
          `address_string "${address.slice(0, 60)}" matches no place exactly${found.candidates.length ? ` (near matches: ${found.candidates.join(', ')})` : ''}: give lat and long (WGS84), or a place's exact name`,
        );
    }
    if (lat === undefined && !located && value('address_id'))
      throw new HttpError(400, 'address_not_located', 'address_id is not known to this server: give lat and long (WGS84) or an address_string');
    if (lat === undefined && !located && !photos.some((p) => p.lon !== null)) throw missing('lat and long (or address_string)');
    const attributes: Record<string, string> = {};
    for (const [k, v] of Object.entries(fields)) {
      const m = /^attribute\[([^\]]+)\](\[\])?$/.exec(k);
      if (m) attributes[m[1]!] = v;
    }
    const description = value('description');
    const contact: Record<string, string> = {};
    for (const k of ['email', 'device_id', 'account_id', 'first_name', 'last_name', 'phone', 'media_url']) if (value(k)) contact[k] = value(k)!.slice(0, 200);
    const token = `o311-${randomBytes(12).toString('base64url')}`;
    const input = parseReport({
      client_id: token,
      category: code,
      ...(lat !== undefined ? { lat: Number(lat), lon: Number(long) } : located ? { lon: located[0], lat: located[1] } : {}),
      address: value('address_string')?.slice(0, 256),
      // The spec says no HTML: tags are dropped rather than refused.
      description: description?.replace(/<[^>]*>/g, '').slice(0, 4000),
      urgency: urgencyOf(code, attributes),
      source: '公众/Open311',
      contact: Object.keys(contact).length ? contact : undefined,
    });
    const result = await reportCase(pool, principal, input, photos);
    return {
      root: 'service_requests',
      item: 'request',
      body: [{ service_request_id: result.code, token, service_notice: '', account_id: value('account_id') ?? null }],
    };
  });
}

/** application/x-www-form-urlencoded (the spec's) or multipart/form-data with a `media` photo. */
async function readForm(ctx: Context, photoMaxMB: number): Promise<{ fields: Record<string, string>; photos: ProcessedPhoto[] }> {
  if (ctx.is('multipart/form-data')) {
    const { fields, files } = await readMultipart(ctx, photoMaxMB);
    const photos: ProcessedPhoto[] = [];
    for (const f of files) photos.push(await processPhoto(f.data, f.name, photoMaxMB));
    return { fields, photos };
  }
  if (!ctx.is('application/x-www-form-urlencoded')) throw new HttpError(400, 'unsupported_body', 'send the request as application/x-www-form-urlencoded (or multipart/form-data with media)');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of ctx.req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > 64 * 1024) throw new HttpError(400, 'body_too_large', 'the form is larger than 64 KiB');
    chunks.push(c);
  }
  return { fields: Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))), photos: [] };
}
