import type { Context, Next } from 'koa';
import { LRUCache } from 'lru-cache';
import type { Principal } from '../access/access.ts';
import type { Config } from '../config.ts';
import { HttpError } from '../errors.ts';

/**
 * Token buckets (nginx's limit_req): each client address and each API key has a bucket per class of request,
 * refilled at `rate` per second up to `burst`; a request finding it empty is answered 429 with Retry-After.
 * Ordinary requests (tiles, catalog, viewer) are not limited unless RATE_LIMIT_RPS is set; expensive ones (POST
 * /query, identify, filtered items) are; failed authentications are counted per address and, once over their
 * limit, refused before the key is even looked up. State is per server process (several instances behind a
 * balancer each count on their own). Addresses in RATE_LIMIT_EXEMPT (default: this machine) are never limited.
 */
export interface Limit {
  rate: number;
  burst: number;
}

export class TokenBuckets {
  private readonly buckets = new LRUCache<string, { tokens: number; at: number }>({ max: 100_000 });

  /** Take one token; 0 when granted, else the seconds until one is there. */
  take(key: string, limit: Limit, now = Date.now()): number {
    const b = this.buckets.get(key) ?? { tokens: limit.burst, at: now };
    b.tokens = Math.min(limit.burst, b.tokens + ((now - b.at) / 1000) * limit.rate);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / limit.rate));
  }

  /** Would a token be there (without taking it)? */
  empty(key: string, limit: Limit, now = Date.now()): number {
    const b = this.buckets.get(key);
    if (!b) return 0;
    const tokens = Math.min(limit.burst, b.tokens + ((now - b.at) / 1000) * limit.rate);
    return tokens >= 1 ? 0 : Math.max(1, Math.ceil((1 - tokens) / limit.rate));
  }
}

type Class = 'ordinary' | 'expensive';

/** Which requests are expensive: they run analyses in the database whose cost the client chooses. */
export function requestClass(ctx: Pick<Context, 'method' | 'path' | 'query'>): Class {
  if (ctx.method === 'POST' && ctx.path === '/query') return 'expensive';
  if (ctx.path === '/identify') return 'expensive';
  if (/^\/collections\/[^/]+\/items$/.test(ctx.path) && ctx.query.filter !== undefined) return 'expensive';
  return 'ordinary';
}

function tooMany(seconds: number, what: string): HttpError {
  return Object.assign(new HttpError(429, 'too_many_requests', `${what}: try again in ${seconds} s`), { retryAfter: seconds });
}

export interface RateLimits {
  /** Before the principal is known: per-address limits and refusing addresses that failed authentication too often. */
  byAddress(ctx: Context, next: Next): Promise<void>;
  /** After the principal is known: the key's own bucket for expensive requests. */
  byKey(ctx: Context, next: Next): Promise<void>;
}

export function rateLimits(config: Pick<Config, 'RATE_LIMIT_RPS' | 'RATE_LIMIT_EXPENSIVE_RPS' | 'RATE_LIMIT_AUTH_FAILURES_PER_MIN' | 'rateLimitExempt'>): RateLimits {
  const buckets = new TokenBuckets();
  const exempt = new Set(config.rateLimitExempt);
  const limits: Record<Class, Limit | null> = {
    ordinary: config.RATE_LIMIT_RPS > 0 ? { rate: config.RATE_LIMIT_RPS, burst: config.RATE_LIMIT_RPS * 2 } : null,
    expensive: config.RATE_LIMIT_EXPENSIVE_RPS > 0 ? { rate: config.RATE_LIMIT_EXPENSIVE_RPS, burst: Math.max(1, config.RATE_LIMIT_EXPENSIVE_RPS * 4) } : null,
  };
  const failures: Limit | null =
    config.RATE_LIMIT_AUTH_FAILURES_PER_MIN > 0 ? { rate: config.RATE_LIMIT_AUTH_FAILURES_PER_MIN / 60, burst: config.RATE_LIMIT_AUTH_FAILURES_PER_MIN } : null;
  const address = (ctx: Context) => ctx.ip || ctx.req.socket.remoteAddress || 'unknown';

  return {
    async byAddress(ctx, next) {
      const ip = address(ctx);
      if (exempt.has(ip)) return next();
      if (failures) {
        const wait = buckets.empty(`auth ${ip}`, failures);
        if (wait) return refuse(ctx, tooMany(wait, 'too many failed authentications from this address'));
      }
      const limit = limits[requestClass(ctx)];
      if (limit) {
        const wait = buckets.take(`${requestClass(ctx)} ${ip}`, limit);
        if (wait) return refuse(ctx, tooMany(wait, `too many ${requestClass(ctx)} requests from this address`));
      }
      try {
        await next();
      } catch (err) {
        // An unknown key is thrown as a 401 while the principal is resolved, before the boundary answers it.
        if (failures && (err as { status?: number }).status === 401) buckets.take(`auth ${ip}`, failures);
        throw err;
      }
      if (failures && ctx.status === 401) buckets.take(`auth ${ip}`, failures);
    },
    async byKey(ctx, next) {
      const p = ctx.state.principal as Principal;
      const limit = limits.expensive;
      if (limit && p.keyId !== null && !exempt.has(address(ctx)) && requestClass(ctx) === 'expensive') {
        const wait = buckets.take(`key ${p.keyId}`, limit);
        if (wait) return refuse(ctx, tooMany(wait, 'too many expensive requests with this key'));
      }
      return next();
    },
  };
}

function refuse(ctx: Context, err: HttpError & { retryAfter?: number }): void {
  ctx.status = 429;
  ctx.set('Retry-After', String(err.retryAfter ?? 1));
  ctx.body = { error: err.code, message: err.message };
}
