/** The http data plane's listener. */
import type { ListenerFactory } from "../net/listener.js";

/** Creates a http listener from its config. */
export const createHttpListener: ListenerFactory = (config) => {
  throw new Error(`listener "${config.name}": the http data plane is not built yet`);
};
