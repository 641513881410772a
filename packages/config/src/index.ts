export {
  ConfigError,
  capacityDefaults,
  demoDefaults,
  type Env,
  envSchema,
  envVariableNames,
  loadEnv,
  type ProcessRole,
  type RoleEnv,
  requiredByRole,
  securityDefaults,
} from './env.js';
