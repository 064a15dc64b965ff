import { pino, type Logger } from 'pino';

/** Structured JSON logs on stdout (pino). */
export function createLogger(level: string): Logger {
  return pino({ level, base: { app: 'citybase' } });
}
export type { Logger };
