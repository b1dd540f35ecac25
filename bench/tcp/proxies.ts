/** The three proxies under test, each given the same listen → backend pairs, one core each. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { MAX_CONNECTIONS, NGINX_OPEN_FILES } from "../http/configs.js";

/** One proxied port: clients connect to `listen`, the proxy forwards to `backend`. */
export interface Route {
  listen: number;
  backend: number;
}

/** How to start one proxy: its argv (after writing any config file into `dir`). */
export interface ProxySpec {
  name: string;
  command(dir: string, routes: Route[]): string[];
}

export const haproxy: ProxySpec = {
  name: "haproxy",
  command(dir, routes) {
    const config = join(dir, "haproxy.cfg");
    const sections = routes.map(
      (route, i) => `listen route${i}
  bind 127.0.0.1:${route.listen}
  server backend 127.0.0.1:${route.backend}
`,
    );
    writeFileSync(
      config,
      `global
  maxconn ${MAX_CONNECTIONS}
  nbthread 1
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
${sections.join("")}`,
    );
    return ["haproxy", "-db", "-f", config];
  },
};

export const nginxStream: ProxySpec = {
  name: "nginx stream",
  command(dir, routes) {
    const config = join(dir, "nginx.conf");
    const servers = routes.map(
      (route) =>
        `  server { listen 127.0.0.1:${route.listen}; proxy_pass 127.0.0.1:${route.backend}; }\n`,
    );
    writeFileSync(
      config,
      `load_module /usr/lib/nginx/modules/ngx_stream_module.so;
worker_processes 1;
worker_rlimit_nofile ${NGINX_OPEN_FILES};
pid ${join(dir, "nginx.pid")};
error_log ${join(dir, "error.log")} warn;
events { worker_connections ${2 * MAX_CONNECTIONS}; }
stream {
${servers.join("")}}
`,
    );
    return ["nginx", "-p", dir, "-c", config, "-g", "daemon off;"];
  },
};

export const ballast: ProxySpec = {
  name: "ballast",
  command(_dir, routes) {
    const script = new URL("./ballast-tcp-server.js", import.meta.url).pathname;
    return [process.execPath, script, ...routes.map((route) => `${route.listen}:${route.backend}`)];
  },
};

/** The least a Node.js proxy does per connection (see node-floor-proxy.ts): a reference. */
export const nodeFloor: ProxySpec = {
  name: "node floor",
  command(_dir, routes) {
    const script = new URL("../peers/node-floor-proxy.js", import.meta.url).pathname;
    return [process.execPath, script, ...routes.map((route) => `${route.listen}:${route.backend}`)];
  },
};
