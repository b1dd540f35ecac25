/**
 * `workers: 2` shows the whole balancer's persistence tables and dns answers: the admin API
 * and `ctl` list the bindings made through either worker (each tagged with its worker; the
 * API also lists each worker's copy of the other's, which `ctl` counts but does not show), and
 * `/api/dns` lists the zones with answer counts summed over both workers. A dns listener's
 * TCP port is shared by both workers, as every other listener's.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { dig } from "../dns/helpers.js";
import { ballastCtl } from "../support/ballast-cli.js";
import { type BallastProcess, startBallast } from "../support/ballast-start.js";
import { runCleanups } from "../support/cleanups.js";
import { loopbackTcpServer } from "../support/loopback-tcp-server.js";
import { freePort } from "../support/ports.js";
import { tempDir } from "../support/temp-dir.js";
import { waitFor } from "../support/wait.js";

const TOKEN = "workers-gather-token";

/** A TCP backend that echoes what it reads. */
const echoServer = () => loopbackTcpServer((socket) => socket.pipe(socket));

/**
 * One connection from `localAddress` that echoes a line, then closes: a new connection, so
 * the cluster deals it to the next worker.
 */
function echoOnce(port: number, localAddress: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, localAddress });
    socket.setTimeout(10_000, () => socket.destroy(new Error("timed out")));
    socket.on("error", reject);
    socket.on("connect", () => socket.write("ping\n"));
    socket.on("data", (chunk) => {
      if (!String(chunk).includes("ping")) return;
      socket.end();
      socket.on("close", () => resolve());
    });
  });
}

interface PersistenceView {
  listener: string;
  rows: { client: string; backend: string; worker: number; learned?: boolean }[];
}

interface DnsView {
  listener: string;
  zones: {
    zone: string;
    records: { name: string; answers?: Record<string, { hosts: string[] }> }[];
  }[];
  answers: { zones: Record<string, Record<string, number>>; regions: Record<string, number> };
}

describe("workers: 2 gather persistence tables and dns answers", { timeout: 120_000 }, () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  const dir = tempDir("workers-gather");
  cleanups.push(dir.cleanup);
  let ballast: BallastProcess;
  let tcpPort: number;
  let dnsPort: number;
  let adminUrl: string;

  const api = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${adminUrl}${path}`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(response.status, 200, path);
    return (await response.json()) as T;
  };
  const ctl = async (...args: string[]) => {
    const result = await ballastCtl(["--admin", adminUrl, "--token", TOKEN, ...args]);
    assert.equal(result.code, 0, `ctl ${args.join(" ")}: ${result.stderr}`);
    return result.stdout;
  };

  before(async () => {
    const echo = await echoServer();
    cleanups.push(echo.close);
    tcpPort = await freePort();
    dnsPort = await freePort("udp");
    adminUrl = `http://127.0.0.1:${await freePort()}`;
    const configPath = join(dir.path, "ballast.yaml");
    writeFileSync(
      configPath,
      `
workers: 2
log: { level: info }
admin: { bind: "127.0.0.1:${new URL(adminUrl).port}", token: "${TOKEN}" }
listeners:
  - { name: db, protocol: tcp, bind: "127.0.0.1:${tcpPort}", pool: db }
  - name: dns
    protocol: dns
    bind: "127.0.0.1:${dnsPort}"
    regions:
      east: ["10.1.0.0/16"]
    zones:
      - origin: example.test
        ns: [ns1.example.test]
        records:
          - { name: www, type: A, geo: { east: [east], default: [other] } }
pools:
  db:
    persistence: 1m
    backends: [{ name: echo, address: "127.0.0.1:${echo.port}" }]
  east:
    backends: [{ address: "192.0.2.1:80" }]
  other:
    backends: [{ address: "192.0.2.2:80" }]
`,
    );
    ballast = startBallast(configPath);
    cleanups.push(() => ballast.kill());
    // Two listeners in each of two workers.
    await waitFor("both workers listening", () => ballast.count("listening") === 4, 20_000, 50);
  });

  after(() => runCleanups(cleanups));

  it("binds the dns listener's TCP port in both workers, so neither dies", async () => {
    // A worker that failed to bind would exit now and be forked again a second later.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(ballast.count("worker died; restarting"), 0);
    assert.equal(ballast.count("listening"), 4);
  });

  it("lists the persistence bindings made through both workers in the admin API and ctl", async () => {
    // Consecutive connections go to the workers in turn: two clients bound in each.
    const clients = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"];
    for (const client of clients) await echoOnce(tcpPort, client);
    let views: PersistenceView[] = [];
    // Each worker reports its own bindings and its copies of the other's (`learned`).
    await waitFor("every binding and its copy reported", async () => {
      views = await api<PersistenceView[]>("/api/persistence");
      return views[0]?.rows.length === 2 * clients.length;
    });
    const own = views[0].rows.filter((row) => !row.learned);
    const copies = views[0].rows.filter((row) => row.learned);
    for (const client of clients) {
      const made = own.find((row) => row.client === client);
      const copy = copies.find((row) => row.client === client);
      assert.ok(made !== undefined && copy !== undefined, `${client}: one binding, one copy`);
      assert.notEqual(made.worker, copy.worker, `${client}: the copy is in the other worker`);
    }
    const db = { ...views[0], rows: own };
    assert.equal(db.listener, "db");
    assert.deepEqual(db.rows.map((row) => row.client).sort(), clients);
    assert.ok(db.rows.every((row) => row.backend === "echo"));
    assert.equal(new Set(db.rows.map((row) => row.worker)).size, 2, JSON.stringify(db.rows));
    const one = await api<PersistenceView>("/api/listeners/db/persistence");
    assert.equal(one.rows.length, 2 * clients.length);
    const printed = await ctl("persistence");
    for (const client of clients) {
      const lines = printed.split("\n").filter((line) => line.includes(` ${client} `));
      assert.equal(lines.length, 1, `ctl shows ${client}'s binding once:\n${printed}`);
    }
    assert.match(printed, /4 idle copies of bindings other workers made, not shown/);
  });

  it("lists the zones in /api/dns and ctl dns, with answers summed over both workers", async () => {
    // Over TCP each query is a new connection, dealt to the workers in turn; over UDP either
    // worker may read it. Either way the sums must hold every answer.
    const sent = 6;
    for (let i = 0; i < sent; i++) {
      const transport = i % 3 === 2 ? "+notcp" : "+tcp";
      const reply = await dig(dnsPort, ["www.example.test", "A", "+subnet=10.1.0.0/24", transport]);
      assert.equal(reply.status, "NOERROR");
      assert.deepEqual(reply.answers.at(-1)?.at(-1), "192.0.2.1");
    }
    let views: DnsView[] = [];
    await waitFor("every answer counted", async () => {
      views = await api<DnsView[]>("/api/dns");
      return views[0]?.answers.zones["example.test"]?.NOERROR === sent;
    });
    const [dns] = views;
    assert.equal(dns.listener, "dns");
    assert.equal(dns.answers.regions.east, sent);
    assert.deepEqual(
      dns.zones.map((zone) => zone.zone),
      ["example.test"],
    );
    const www = dns.zones[0].records.find((record) => record.name === "www.example.test.");
    assert.deepEqual(www?.answers?.east.hosts, ["192.0.2.1"]);
    assert.deepEqual(www?.answers?.default.hosts, ["192.0.2.2"]);
    const printed = await ctl("dns");
    assert.match(printed, /www\.example\.test\.\s+A\s+300\s+east\s+192\.0\.2\.1 \[east\]/);
    const metrics = await (
      await fetch(`${adminUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
    ).text();
    assert.match(
      metrics,
      new RegExp(
        `ballast_dns_answers_total\\{listener="dns",zone="example.test",rcode="NOERROR"\\} ${sent}\\n`,
      ),
    );
  });
});
