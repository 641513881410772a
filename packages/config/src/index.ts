export { ConfigError, type Env, envSchema, envVariableNames, loadEnv } from './env.js';
