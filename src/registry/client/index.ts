/**
 * `ballast/client`: client-side balancing over the ballast registry, with no server code.
 * Watch a service, balance over its instances in process with ballast's own pools, send
 * `fetch` calls through an undici dispatcher, and keep an instance registered.
 */
export { Pool } from "../../pool/pool.js";
export type { Selection, SelectionResult, SelectRequest } from "../../pool/selection.js";
export { RegistryDispatcher, type RegistryDispatcherOptions } from "./dispatcher.js";
export { BALLAST_SCHEME, type BallastGrpcOptions, registerBallastResolver } from "./grpc.js";
export { InstanceHeartbeat, type InstanceOptions } from "./instance.js";
export { RetryBudget } from "./retry-budget.js";
export { ServiceBalancer, type ServiceBalancerOptions } from "./service-balancer.js";
export { type RegistryEndpoint, ServiceWatch, type WatchOptions } from "./watch.js";
export type { InstanceView, ServiceDelta, ServiceSnapshot } from "./wire.js";
