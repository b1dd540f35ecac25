/** Which data plane serves which `protocol:` of a listener. */
import type { ListenerConfig } from "../config/schema/index.js";
import { createDnsListener } from "../dns/listener.js";
import { createHttpListener } from "../http/listener.js";
import { createKernelListener } from "../kernel/listener.js";
import type { ListenerFactory } from "../net/listener.js";
import { createTcpListener } from "../tcp/listener.js";
import { createUdpListener } from "../udp/listener.js";

export const listenerFactories: Record<ListenerConfig["protocol"], ListenerFactory> = {
  http: createHttpListener,
  tcp: createTcpListener,
  udp: createUdpListener,
  dns: createDnsListener,
  kernel: createKernelListener,
};
