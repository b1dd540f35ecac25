/**
 * Listener stats as Prometheus families: one family per stat, counters apart from gauges.
 * A listener's `stats()` mixes both (http `requests` only grows, `inFlight` goes up and
 * down), so every stat name is classified here; a test checks that the live listeners of
 * every protocol report no stat missing from this table.
 */
import { Counter, Gauge, type Registry } from "prom-client";
import type { Runtime } from "../runtime/runtime.js";

/** How one listener stat is exported. */
export interface ListenerStatMetric {
  kind: "counter" | "gauge";
  /** The family's name: `ballast_listener_<snake_case>` (+ `_total` for counters). */
  name: string;
  help: string;
}

const counter = (name: string, help: string): ListenerStatMetric => ({
  kind: "counter",
  name: `ballast_listener_${name}_total`,
  help,
});
const gauge = (name: string, help: string): ListenerStatMetric => ({
  kind: "gauge",
  name: `ballast_listener_${name}`,
  help,
});

/** Every stat the http, tcp, udp, dns and kernel listeners report, by the name `stats()` gives it. */
export const LISTENER_STAT_METRICS: Readonly<Record<string, ListenerStatMetric>> = {
  // http
  requests: counter("requests", "Requests received (http)"),
  inFlight: gauge("in_flight_requests", "Requests being proxied now (http)"),
  retries: counter("retries", "Requests retried on another backend (http)"),
  errors: counter("errors", "Requests answered with an error by ballast itself (http)"),
  clientAborts: counter("client_aborts", "Requests the client gave up on (http)"),
  tunnels: gauge("tunnels", "Open upgraded connections such as WebSockets (http)"),
  deniedRequests: counter("denied_requests", "Requests refused with 403 by the address lists"),
  rateLimited: counter("rate_limited_requests", "Requests refused with 429 by the rate limit"),
  // http and tcp
  deniedConnections: counter("denied_connections", "Connections closed at accept: denied"),
  limitedConnections: counter("limited_connections", "Connections closed at accept: over a limit"),
  // tcp
  accepted: counter("accepted_connections", "Client connections accepted (tcp)"),
  closed: counter("closed_connections", "Client connections closed (tcp)"),
  open: gauge("open_connections", "Client connections open now (tcp)"),
  connectFailures: counter("connect_failures", "Connections to backends that failed (tcp)"),
  proxyHeaderRejected: counter(
    "proxy_header_rejected",
    "Connections closed for a bad PROXY protocol header (tcp)",
  ),
  // tcp and udp
  noBackend: counter("no_backend", "Connections or datagrams with no backend available"),
  // udp
  datagramsIn: counter("datagrams_in", "Datagrams received from clients (udp)"),
  datagramsOut: counter("datagrams_out", "Datagrams sent back to clients (udp)"),
  sessionsCreated: counter("sessions_created", "Sessions opened (udp)"),
  sessionsExpired: counter("sessions_expired", "Sessions closed after their idle timeout (udp)"),
  sessionsEvicted: counter("sessions_evicted", "Sessions closed to make room for new ones (udp)"),
  sessions: gauge("sessions", "Sessions open now (udp)"),
  upstreamErrors: counter("upstream_errors", "Socket errors towards backends (udp)"),
  deniedDatagrams: counter("denied_datagrams", "Datagrams dropped: address denied (udp)"),
  limitedDatagrams: counter("limited_datagrams", "Datagrams dropped: over a limit (udp)"),
  // dns
  queries: counter("dns_queries", "Queries received over UDP and TCP (dns)"),
  answersNoError: counter("dns_noerror_answers", "Answers with RCODE NOERROR (dns)"),
  answersNxDomain: counter("dns_nxdomain_answers", "Answers with RCODE NXDOMAIN (dns)"),
  answersServFail: counter("dns_servfail_answers", "Answers with RCODE SERVFAIL (dns)"),
  answersRefused: counter("dns_refused_answers", "Answers with RCODE REFUSED (dns)"),
  answersFormErr: counter("dns_formerr_answers", "Answers with RCODE FORMERR (dns)"),
  answersNotImp: counter("dns_notimp_answers", "Answers with RCODE NOTIMP (dns)"),
  answersOther: counter("dns_other_answers", "Answers with another RCODE, such as BADVERS (dns)"),
  truncated: counter("dns_truncated_answers", "UDP answers sent with TC: too large (dns)"),
  dropped: counter("dns_dropped_queries", "Queries dropped unanswered: unreadable or denied (dns)"),
  rateLimitedDropped: counter(
    "dns_rrl_dropped",
    "UDP answers dropped by response rate limiting (dns)",
  ),
  rateLimitedSlipped: counter("dns_rrl_slipped", "UDP answers sent truncated by RRL's slip (dns)"),
  tcpAccepted: counter("dns_tcp_accepted", "TCP connections accepted (dns)"),
  tcpOpen: gauge("dns_tcp_open", "TCP connections open now (dns)"),
  newConnections: counter(
    "kernel_new_connections",
    "New connections the kernel dispatched (kernel)",
  ),
  activeConnections: gauge(
    "kernel_active_connections",
    "ESTABLISHED connections in conntrack (kernel)",
  ),
  inactiveConnections: gauge(
    "kernel_inactive_connections",
    "Other conntrack entries of the service (kernel)",
  ),
  transactions: counter("kernel_transactions", "nftables transactions applied (kernel)"),
  refusedTransactions: counter(
    "kernel_refused_transactions",
    "nftables transactions refused; the last good ruleset stayed (kernel)",
  ),
};

const LABELS = ["listener", "protocol"] as const;

/**
 * Registers one family per listener stat. Values are read from the listeners at scrape
 * time; a listener that a reload replaces (new bind or protocol) starts its counters from
 * zero, which Prometheus' rate() and increase() treat as a counter reset.
 */
export function registerListenerMetrics(registry: Registry, runtime: Runtime): void {
  // stats() builds a small object; reading it once per family keeps every family simple.
  const stats = () =>
    [...runtime.listeners.values()].map((listener) => ({
      labels: { listener: listener.name, protocol: listener.protocol },
      stats: listener.stats(),
    }));
  for (const [stat, { kind, name, help }] of Object.entries(LISTENER_STAT_METRICS)) {
    if (kind === "counter") {
      new Counter({
        name,
        help,
        labelNames: LABELS,
        registers: [registry],
        collect() {
          this.reset();
          for (const { labels, stats: values } of stats()) {
            if (values[stat] !== undefined) this.inc(labels, values[stat]);
          }
        },
      });
    } else {
      new Gauge({
        name,
        help,
        labelNames: LABELS,
        registers: [registry],
        collect() {
          this.reset();
          for (const { labels, stats: values } of stats()) {
            if (values[stat] !== undefined) this.set(labels, values[stat]);
          }
        },
      });
    }
  }
  registerDnsAnswerMetrics(registry, runtime);
}

/** Answers per zone and RCODE, per region, and per record set, of every dns listener. */
function registerDnsAnswerMetrics(registry: Registry, runtime: Runtime): void {
  const counts = () =>
    [...runtime.listeners.values()].flatMap((listener) => {
      const answers = listener.answerCounts?.();
      return answers === undefined ? [] : [{ listener: listener.name, answers }];
    });
  new Counter({
    name: "ballast_dns_answers_total",
    help: "Answers by zone and RCODE (dns)",
    labelNames: ["listener", "zone", "rcode"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const { listener, answers } of counts()) {
        for (const [zone, byRcode] of Object.entries(answers.zones)) {
          for (const [rcode, value] of Object.entries(byRcode))
            this.inc({ listener, zone, rcode }, value);
        }
      }
    },
  });
  new Counter({
    name: "ballast_dns_region_answers_total",
    help: "Answers of pool-backed geo records by the client's region (dns)",
    labelNames: ["listener", "region"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const { listener, answers } of counts()) {
        for (const [region, value] of Object.entries(answers.regions))
          this.inc({ listener, region }, value);
      }
    },
  });
  new Counter({
    name: "ballast_dns_record_answers_total",
    help: "Answers by the record set that answered: zone, owner name and type (dns)",
    labelNames: ["listener", "zone", "name", "type"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const { listener, answers } of counts()) {
        for (const { zone, name, type, answers: value } of answers.records ?? [])
          this.inc({ listener, zone, name, type }, value);
      }
    },
  });
}
