/** The tcp data plane's listener. */
import type { ListenerFactory } from "../net/listener.js";

/** Creates a tcp listener from its config. */
export const createTcpListener: ListenerFactory = (config) => {
  throw new Error(`listener "${config.name}": the tcp data plane is not built yet`);
};
