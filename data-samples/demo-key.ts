import type pg from 'pg';
import type { Logger } from 'pino';
import { hashKey, newKey } from '../tile-server/src/access/keys.ts';

/** The department whose key opens the restricted sample layer (重要经济目标, owner 人防办). */
export const DEMO_DEPARTMENT = 'rfb';
const LABEL = 'demo key (DEMO_API_KEY)';

/**
 * The demo department key. With DEMO_API_KEY set, that key is registered (once; a key revoked since stays
 * revoked). Without it, a new key is made at the first start (when the samples are loaded) and printed once,
 * since only its hash is kept.
 */
export async function ensureDemoKey(pool: pg.Pool, configured: string | undefined, firstStart: boolean, log: Logger): Promise<void> {
  if (!configured && !firstStart) return;
  const key = configured ?? newKey();
  const res = await pool.query(
    `INSERT INTO citybase.api_keys (department_id, key_hash, label, rights) VALUES ($1, $2, $3, '{read}')
     ON CONFLICT (key_hash) DO NOTHING`,
    [DEMO_DEPARTMENT, hashKey(key), LABEL],
  );
  if (configured) {
    if (res.rowCount) log.info({ department: DEMO_DEPARTMENT }, 'demo API key from DEMO_API_KEY registered');
    return;
  }
  log.info(
    { department: DEMO_DEPARTMENT, key },
    `demo API key of ${DEMO_DEPARTMENT} (人防办), shown only now: ${key} — it opens the restricted layer civil_defence_key_targets (?key=…); set DEMO_API_KEY to choose your own`,
  );
}
