// `npm run test:faults` (issue 16 §7): faults injected into real processes — PostgreSQL killed under load, the
// server killed during an import, a full disk under uploads, stalled clients. Minutes long and root-only (a tmpfs
// is mounted), so apart from `npm test`; each file says what must hold afterwards.
export default {
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  files: ['test/faults/**/*.faults.ts'],
  timeout: '300s',
  concurrency: 1,
  workerThreads: false,
};
