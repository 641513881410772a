export { TestingError, type TestingErrorCode } from './errors.js';
export {
  type NodeProcess,
  type SpawnNodeProcessOptions,
  spawnNodeProcess,
} from './node-process.js';
export { getFreePort } from './ports.js';
export {
  ownCpuMs,
  peakRssMb,
  processCpuMs,
  redisCpuMs,
  startCpuMeter,
} from './process-stats.js';
export {
  type RedisCluster,
  type RedisClusterNode,
  type RedisClusterOptions,
  startRedisCluster,
} from './redis-cluster.js';
export { pingRedis } from './redis-ping.js';
export { type RedisServer, type RedisServerOptions, startRedisServer } from './redis-server.js';
export { type RedisRoleEnv, type RedisTarget, redisTarget } from './redis-target.js';
export {
  type MailAddress,
  type ReceivedMail,
  type SmtpSink,
  type SmtpSinkOptions,
  startSmtpSink,
} from './smtp-sink.js';
export { type ExitInfo, exitOf, spawnTied } from './spawn-tied.js';
export {
  type RequestedSync,
  requestSync,
  type SyncRequestOptions,
  type SyncRequestTarget,
} from './sync-request.js';
export {
  type ResolvedRedis,
  type ResolveRedisOptions,
  resolveRedis,
  resolveRedisTarget,
  resolveTestRedis,
  type TestRedis,
  type TestRedisSource,
  useTestRedis,
} from './test-redis.js';
export {
  type RedisClient,
  resolveTestCluster,
  scanKeys,
  testOnCluster,
  unlinkKeys,
} from './test-redis-cluster.js';
export { type WaitForOptions, waitFor } from './wait-for.js';
