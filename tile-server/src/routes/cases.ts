import type Router from '@koa/router';
import type pg from 'pg';
import type { AppState } from '../app.ts';
import { requireRight } from '../access/access.ts';
import { notFound } from '../errors.ts';
import { evaluation, EVALUATION_COLUMNS, toCsv } from '../cases/evaluation.ts';
import { PHOTO_SIZES, type PhotoSize } from '../cases/photo-store.ts';
import { caseSheet, categories, duplicatesOf, listCases, photo, workflow } from '../cases/read.ts';
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

  router.get('/api/cases', async (ctx) => {
    ctx.state.route = 'cases';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { cases: await listCases(pool, ctx.state.principal, ctx.query as Record<string, string>) };
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
