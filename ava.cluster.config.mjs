// `npm run test:cluster` (issue 17 §3): real processes on one machine — a PostgreSQL primary and a streaming replica,
// two CityBase instances, nginx in front — started by `npm run cluster:local`'s code. About a minute; needs nginx
// (with its stream module for JT/T 808), so apart from `npm test`, like test:faults.
export default {
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  files: ['test/cluster/**/*.cluster.ts'],
  timeout: '300s',
  concurrency: 1,
  workerThreads: false,
};
