// Logs under an outage (issue 16 §6): the first failure of a kind in full, then one summary line per window.
import { Writable } from 'node:stream';
import test from 'ava';
import Koa from 'koa';
import supertest from 'supertest';
import { errorBoundary } from '../tile-server/src/errors.ts';
import { createLogger } from '../tile-server/src/log.ts';
import { ErrorLogLimiter } from '../tile-server/src/log-limiter.ts';

function capture() {
  const lines: Array<Record<string, any>> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { lines, log: createLogger('info', sink) };
}

test('500 requests failing alike while the database is down: one full error, then one summary with the count', async (t) => {
  const { lines, log } = capture();
  const app = new Koa();
  const limiter = new ErrorLogLimiter(log, 60_000);
  app.use(errorBoundary(log, undefined, limiter));
  let n = 0;
  app.use(() => {
    n++;
    throw Object.assign(new Error(`connect ECONNREFUSED 127.0.0.1:${5432 + (n % 7)}`), { code: 'ECONNREFUSED' });
  });
  const http = supertest(app.callback());
  for (let i = 0; i < 500; i++) t.is((await http.get(`/tiles/x/1/0/${i % 2}.mvt`)).status, 503);
  limiter.flush(); // the window's end
  const errors = lines.filter((l) => l.level === 50);
  t.is(errors.length, 2, JSON.stringify(errors.map((e) => e.msg)));
  t.truthy(errors[0]!.err.stack, 'the first is logged in full');
  t.is(errors[1]!.suppressed, 499);
  t.regex(errors[1]!.msg, /499 more like this in the last 60 s/);
});

test('different kinds of failure are each logged once per window, and the number of kinds is bounded', async (t) => {
  const { lines, log } = capture();
  const limiter = new ErrorLogLimiter(log, 200, 3);
  for (let i = 0; i < 10; i++) for (const kind of ['a', 'b', 'c', 'd', 'e']) limiter.error(kind, { i }, `failure ${kind}`);
  const first = lines.length;
  t.is(first, 4, 'a, b, c and one line for the kinds beyond the bound');
  limiter.flush();
  t.deepEqual(lines.slice(first).map((l) => l.suppressed).sort((x, y) => x - y), [9, 9, 9, 19]);
  // A new window logs in full again.
  limiter.error('a', {}, 'failure a');
  t.is(lines.at(-1)!.msg, 'failure a');
});

test('a client that went away (its query cancelled) is a 499, not a server error in the log', async (t) => {
  const { QueryCancelledError } = await import('../tile-server/src/db/query.ts');
  const { lines, log } = capture();
  const app = new Koa();
  app.use(errorBoundary(log));
  app.use(() => {
    throw new QueryCancelledError();
  });
  const res = await supertest(app.callback()).get('/tiles/x/1/1/1.mvt');
  t.is(res.status, 499);
  t.is(res.body.error, 'client_closed_request');
  t.deepEqual(lines.filter((l) => l.level >= 40), [], 'nothing at warn or above');
});
