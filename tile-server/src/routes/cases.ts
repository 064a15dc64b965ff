import { createHash } from 'node:crypto';
import type Router from '@koa/router';
import type pg from 'pg';
import type { AppState } from '../app.ts';
import { requireRight } from '../access/access.ts';
import { notFound } from '../errors.ts';
import { readJsonBody } from '../features/body.ts';
import { evaluation, EVALUATION_COLUMNS, toCsv } from '../cases/evaluation.ts';
import { PHOTO_SIZES, type PhotoSize } from '../cases/photo-store.ts';
import { bulkDispatch, parseBulkDispatch } from '../cases/bulk.ts';
import { caseSheet, categories, checkListAccess, departments, duplicatesOf, listCases, photo, queueFingerprint, workflow } from '../cases/read.ts';
import { parseReport, reportCase } from '../cases/report.ts';
import { readCaseRequest } from '../cases/upload.ts';
import { parseTransition, transition } from '../cases/workflow.ts';

export interface CaseRouteDeps {
  pool: pg.Pool;
  photoMaxMB: number;
}

/**
 * /api/cases: 上报 (JSON or multipart with photos; client_id makes it idempotent), the list with filters, the
 * case sheet, transitions, duplicates, photos, the category and workflow tables, and 综合评价 (JSON or CSV).
 * Each handler reads: principal → right (in the cases module) → SQL with the principal's scope → answer.
 */
export function caseRoutes(router: Router<AppState>, deps: CaseRouteDeps): void {
  const { pool } = deps;

  router.get('/api/cases/categories', async (ctx) => {
    ctx.state.route = 'cases';
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.body = await categories(pool);
  });

  router.get('/api/cases/workflow', async (ctx) => {
    ctx.state.route = 'cases';
    ctx.body = await workflow(pool);
  });

  router.get('/api/cases/evaluation', async (ctx) => {
    ctx.state.route = 'cases';
    const { format, ...q } = ctx.query as Record<string, string>;
    const rows = await evaluation(pool, ctx.state.principal, q);
    if (format === 'csv') {
      ctx.type = 'text/csv; charset=utf-8';
      ctx.set('Content-Disposition', `attachment; filename="evaluation-${q.by ?? 'department'}.csv"`);
      ctx.body = toCsv(rows, EVALUATION_COLUMNS);
    } else ctx.body = { by: q.by ?? 'department', rows };
  });

  router.get('/api/cases/photos/:hash/:size', async (ctx) => {
    ctx.state.route = 'cases';
    if (!(PHOTO_SIZES as readonly string[]).includes(ctx.params.size!)) throw notFound('unknown_photo', `sizes: ${PHOTO_SIZES.join(', ')}`);
    const p = await photo(pool, ctx.state.principal, ctx.params.hash!, ctx.params.size as PhotoSize);
    ctx.type = p.type;
    // Content-addressed: the bytes behind a URL never change, but only the right principal may fetch them.
    ctx.set('Cache-Control', 'private, max-age=31536000, immutable');
    ctx.body = p.body;
  });

  router.post('/api/cases', async (ctx) => {
    ctx.state.route = 'cases';
    requireRight(ctx.state.principal, 'case:report');
    const { body, photos } = await readCaseRequest(ctx, deps.photoMaxMB);
    const result = await reportCase(pool, ctx.state.principal, parseReport(body), photos);
    ctx.status = result.created ? 201 : 200;
    ctx.set('Location', `/api/cases/${result.code}`);
    ctx.body = result;
  });

  router.get('/api/cases/departments', async (ctx) => {
    ctx.state.route = 'cases';
    ctx.body = { departments: await departments(pool, ctx.state.principal) };
  });

  // 批量派遣: one transition per case, each in its own transaction and audited; the answer has each case's outcome.
  router.post('/api/cases/dispatch', async (ctx) => {
    ctx.state.route = 'cases';
    const results = await bulkDispatch(pool, ctx.state.principal, parseBulkDispatch(await readJsonBody(ctx, 64 * 1024)), ctx.ip);
    ctx.body = { dispatched: results.filter((r) => r.ok).length, refused: results.filter((r) => !r.ok).length, results };
  });

  // The queue. Its weak ETag is the scope's fingerprint (read.ts queueFingerprint) with the query and the asker:
  // the desk polls with If-None-Match and gets 304 until a case in its scope changes or a clock crosses 临期/超期.
  router.get('/api/cases', async (ctx) => {
    ctx.state.route = 'cases';
    ctx.set('Cache-Control', 'private, no-cache');
    const { principal } = ctx.state;
    const query = ctx.query as Record<string, string>;
    checkListAccess(principal, query);
    const fingerprint = await queueFingerprint(pool, principal);
    const { key: _key, ...shown } = query;
    const etag = `W/"${createHash('sha256').update(JSON.stringify([fingerprint, shown, principal.kind, principal.userId, principal.keyId])).digest('base64url').slice(0, 27)}"`;
    ctx.set('ETag', etag);
    if (ctx.get('If-None-Match') === etag) {
      ctx.status = 304;
      return;
    }
    ctx.body = { cases: await listCases(pool, principal, query) };
  });

  router.get('/api/cases/:ref', async (ctx) => {
    ctx.state.route = 'cases';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await caseSheet(pool, ctx.state.principal, ctx.params.ref!);
  });

  router.get('/api/cases/:ref/duplicates', async (ctx) => {
    ctx.state.route = 'cases';
    ctx.body = { duplicates: await duplicatesOf(pool, ctx.state.principal, ctx.params.ref!) };
  });

  router.post('/api/cases/:ref/transitions', async (ctx) => {
    ctx.state.route = 'cases';
    const { body, photos } = await readCaseRequest(ctx, deps.photoMaxMB);
    ctx.body = await transition(pool, ctx.state.principal, ctx.params.ref!, parseTransition(body), photos);
  });
}
