// The import thread's entry: the platform runs TypeScript through tsx, whose loader Node 20 does not carry into
// worker threads; register it here, then load the thread's code (import/worker.ts).
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
