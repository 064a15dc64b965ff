import { pino, type DestinationStream, type Logger } from 'pino';

/**
 * Credentials as they can appear in a log line: API keys (cb_ + 43 characters) anywhere, saved widgets' ids in
 * `/embed/{id}` paths, the value of a `key=`, `token=`, `session=` or `password=` parameter, an Authorization
 * header's credentials, a Cookie or Set-Cookie header, and the password of a connection URL. Each match keeps
 * its name and loses its value.
 */
const CREDENTIALS: Array<[RegExp, string]> = [
  [/\bcb_[A-Za-z0-9_-]{43}\b/g, 'cb_[redacted]'],
  // A saved widget's id works as its embed key (access/widgets.ts): in its page's path too.
  [/(\/embed\/)w_[A-Za-z0-9_-]{16}(?![A-Za-z0-9_-])/g, '$1w_[redacted]'],
  [/([?&;](?:key|token|access_token|session|sid|password)=)[^&\s"\\#]+/gi, '$1[redacted]'],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 [redacted]'],
  [/("(?:cookie|set-cookie|authorization)"\s*:\s*)"(?:[^"\\]|\\.)*"/gi, '$1"[redacted]"'],
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s"]+:)[^@\s"]+@/gi, '$1[redacted]@'],
];

/** Remove credentials from one serialised log line (every field: messages, URLs, error messages and stacks). */
export function redactCredentials(line: string): string {
  let out = line;
  for (const [pattern, replacement] of CREDENTIALS) out = out.replace(pattern, replacement);
  return out;
}

/** Structured JSON logs on stdout (pino), every line passed through redactCredentials. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, base: { app: 'citybase' }, hooks: { streamWrite: redactCredentials } }, destination);
}
export type { Logger };
