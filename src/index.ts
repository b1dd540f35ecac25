/**
 * The library entry: `import { createBalancer, Pool, loadConfigFile, Runtime } from "ballast"`.
 * Everything here is usable inside your own process, without the CLI.
 */

// Algorithms: the contract, the registry by name and the factory.
export type {
  AlgorithmInfo,
  AlgorithmName,
  Backend,
  Balancer,
  BalancerFactory,
  BalancerOptions,
  HashName,
  PickContext,
} from "./balancer/index.js";
export {
  algorithmNames,
  algorithms,
  createBalancer,
  isAlgorithmName,
  seededRandom,
} from "./balancer/index.js";
export { ConfigError, type ConfigIssue, formatIssue } from "./config/errors.js";
export type { LoadOptions } from "./config/load.js";
// Config: loading with environment interpolation, validation and readable errors.
export { loadConfigFile, parseConfigText } from "./config/load.js";
export type {
  BackendConfig,
  Config,
  HealthCheckConfig,
  ListenerConfig,
  PoolConfig,
} from "./config/schema/index.js";
export { configSchema } from "./config/schema/index.js";
// Health: active checks, passive detection, heartbeat leases, dynamic weights.
export {
  adjustWeights,
  attachPassiveDetection,
  type BackendHealthView,
  type CheckResult,
  type CheckStatus,
  type CheckTarget,
  createHealthCheck,
  type DynamicWeightOptions,
  type DynamicWeights,
  type HealthCheck,
  HeartbeatError,
  type HeartbeatLease,
  HeartbeatLeases,
  type HeartbeatRegistration,
  type PassiveOptions,
  type PoolHealth,
  type PoolHealthOptions,
  startDynamicWeights,
  startPoolHealth,
} from "./health/index.js";
// Logging.
export { createLogger, type Logger, type LogLevel } from "./log.js";
// Data plane contract, for writing your own listener.
export type { Listener, ListenerContext, ListenerFactory, PoolLookup } from "./net/listener.js";
// Pools: backends with state, exact connection accounting through leases.
export {
  type BackendCounters,
  type BackendSpec,
  BackendState,
  formatHostPort,
  type Health,
} from "./pool/backend.js";
export { Lease, type LeaseState, type Outcome } from "./pool/lease.js";
export {
  type OutcomeObserver,
  Pool,
  type PoolEvent,
  type PoolObserver,
  type PoolOptions,
  type StickySettings,
} from "./pool/pool.js";
export {
  type NoBackendReason,
  Selection,
  type SelectionResult,
  type SelectRequest,
} from "./pool/selection.js";
export { createPoolFromConfig } from "./runtime/pools.js";
// The runtime: a config turned into live pools and listeners.
export { type ReloadResult, Runtime, type RuntimeOptions } from "./runtime/runtime.js";
export type { AlgorithmResult, Scenario } from "./sim/index.js";
/** The simulator: compare algorithms on a simulated workload. */
export { formatTable, parseBackends, rankResults, simulate } from "./sim/index.js";
