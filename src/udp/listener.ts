/** The udp data plane's listener. */
import type { ListenerFactory } from "../net/listener.js";

/** Creates a udp listener from its config. */
export const createUdpListener: ListenerFactory = (config) => {
  throw new Error(`listener "${config.name}": the udp data plane is not built yet`);
};
