/** The config `ballast demo` runs: one HTTP listener, a pool per algorithm shown. */
import { parseConfigText } from "../config/load.js";
import type { Config } from "../config/schema/index.js";
import type { DemoBackend } from "./demo-backends.js";

/** The YAML text of the demo config, for the given backends and listen address. */
export function demoConfigText(
  backends: readonly DemoBackend[],
  host: string,
  port: number,
): string {
  const list = (weights: readonly number[]) =>
    backends
      .map(
        (b, i) =>
          `      - { name: ${b.name}, address: "127.0.0.1:${b.port}", weight: ${weights[i] ?? 1} }`,
      )
      .join("\n");
  return `# ballast demo: three backends of different speeds behind one HTTP listener.
listeners:
  - name: demo
    protocol: http
    bind: "${host.includes(":") ? `[${host}]` : host}:${port}"
    default_pool: weighted
    routes:
      - { match: { path_prefix: /lc }, pool: least-connections }
      - { match: { path_prefix: /hash }, pool: hashed }
      - { match: { path_prefix: /ewma }, pool: fastest }
pools:
  weighted:            # nginx's smooth weighted round robin: 3 : 2 : 1
    algorithm: wrr
    backends:
${list([3, 2, 1])}
  least-connections:   # IPVS lc: the fast backend frees up first, so it takes more
    algorithm: lc
    backends:
${list([1, 1, 1])}
  hashed:              # Maglev keyed by the X-User header: one user, one backend
    algorithm: maglev
    hash_key: { header: X-User }
    backends:
${list([1, 1, 1])}
  fastest:             # peak EWMA: least expected latency
    algorithm: ewma
    backends:
${list([1, 1, 1])}
log:
  level: warn
`;
}

/** The demo config, validated like any config file. */
export function demoConfig(backends: readonly DemoBackend[], host: string, port: number): Config {
  return parseConfigText(demoConfigText(backends, host, port), "demo config");
}
