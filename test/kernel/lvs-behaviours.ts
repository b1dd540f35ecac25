/**
 * The behaviours nat.test.ts, dr.test.ts and tun.test.ts check alike, each a function of the
 * suite (its lab, its mode, the ballast it runs in the director) and of what differs between
 * the modes. A test file names each behaviour in its `it` and adds what is its mode's own.
 */
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import type { Daemon } from "../support/daemon.js";
import { spawnIn } from "../support/netns.js";
import { CLIENT_SCRIPT } from "../support/netns-client.js";
import { requireProgram } from "../support/programs.js";
import { waitFor } from "../support/wait.js";
import {
  buildLvsLab,
  CLIENT,
  dispatchesTo,
  type KernelMode,
  kernelConfig,
  type LabServer,
  type LvsLab,
  serverHex,
  VIP,
} from "./lvs-lab.js";

/** One test file's lab of three real servers, its mode, and the ballast in its director. */
export class KernelSuite {
  readonly mode: KernelMode;
  readonly routed: boolean;
  /** Set by `build()`, in the file's `before`. */
  lvs!: LvsLab;
  /** The ballast `start()` started last, until `stop()`. */
  ballast: Daemon | undefined;

  constructor(mode: KernelMode, options: { routed?: boolean } = {}) {
    this.mode = mode;
    this.routed = options.routed ?? false;
  }

  /** Builds the lab (in the file's `before`). */
  async build(): Promise<void> {
    this.lvs = await buildLvsLab(3, { routed: this.routed });
  }

  /** Stops ballast and removes the lab (in the file's `after`). */
  async cleanup(): Promise<void> {
    await this.ballast?.stop();
    await this.lvs?.cleanup();
  }

  /** A kernel listener of this suite's mode in front of `servers`. */
  config(
    servers: readonly LabServer[],
    options: Omit<Parameters<typeof kernelConfig>[1], "mode"> = {},
  ): string {
    return kernelConfig(servers, { ...options, mode: this.mode });
  }

  /**
   * Starts ballast on `yaml` (stopping the one before), then waits until the checks (and, for
   * DR, the neighbour table) have put every one of `servers` in the dispatch: ballast's start
   * line comes first.
   */
  async start(yaml: string, servers: readonly LabServer[]): Promise<void> {
    await this.ballast?.stop();
    this.ballast = await this.lvs.startBallast(yaml);
    for (const server of servers) {
      await waitFor(`${server.name} in the dispatch`, () => dispatchesTo(this.lvs, server));
    }
  }

  /** Stops ballast cleanly: it removes what it wrote. */
  async stop(): Promise<void> {
    await this.ballast?.stop();
    this.ballast = undefined;
  }
}

/** wrr with weights 3 and 1 sends 3 of every 4 of 2000 new connections to the first server. */
export async function spreadsNewConnectionsByWeight(suite: KernelSuite): Promise<void> {
  const pair = suite.lvs.servers.slice(0, 2);
  await suite.start(suite.config(pair, { weights: [3, 1] }), pair);
  const result = await suite.lvs.burst(2000);
  assert.equal(result.failed, 0);
  const share = (result.servers.rs1 ?? 0) / 2000;
  // IPVS's wrr cycle walked by numgen per new flow: 3 of every 4, give or take the cycle's end.
  assert.ok(Math.abs(share - 0.75) < 0.02, `rs1 got ${share} of ${JSON.stringify(result.servers)}`);
}

/**
 * rs3, killed while the client opens connections, leaves the ruleset within the check bound;
 * the load kept reaching the others, and new connections afterwards go only to them. rs3's
 * nginx is started again at the end, as the lab had it.
 */
export async function killedServerLeavesTheDispatch(suite: KernelSuite): Promise<void> {
  const { lvs } = suite;
  const rs3 = lvs.servers[2];
  await suite.start(suite.config(lvs.servers, { algorithm: "rr" }), lvs.servers);
  const running = lvs.burstFor(8000);
  const before = await lvs.dispatched();
  await waitFor(
    "the load to be under way",
    async () => (await lvs.dispatched()) > before + 100,
    20_000,
    50,
  );
  // The checks may find rs3 up a moment after the others on a loaded machine.
  await waitFor("rs3 in the dispatch before the kill", () => dispatchesTo(lvs, rs3));
  await rs3.nginx.stop();
  const killedAt = Date.now();
  // rs3's chains (named by its address in hex) leave the ruleset once the check finds it down.
  // The check bound is about 0.5 s (every 200 ms, fall 2); 10 s leaves room for a loaded machine.
  await waitFor(
    "rs3 out of the ruleset",
    async () => !(await lvs.ruleset()).includes(serverHex(rs3)),
    10_000,
    100,
  );
  const removedAfterMs = Date.now() - killedAt;
  const during = await running;
  console.log(
    `killed rs3 mid-run: out of the ruleset after ${removedAfterMs} ms; ${during.failed} failed connections, the last at ${during.lastFailureMs} ms of ${during.elapsedMs}`,
  );
  assert.ok((during.servers.rs1 ?? 0) > 0 && (during.servers.rs2 ?? 0) > 0);
  const after = await lvs.burst(300);
  assert.equal(after.failed, 0, JSON.stringify(after));
  assert.deepEqual(Object.keys(after.servers).sort(), ["rs1", "rs2"]);
  rs3.nginx = await lvs.lab.startNginxIn(rs3.ns, { body: "rs3", files: { bulk: 1 << 20 } });
}

/** With persistence, rr over three servers still sends all of one client's connections to one. */
export async function persistenceKeepsAClientOnOneServer(suite: KernelSuite): Promise<void> {
  const { lvs } = suite;
  await suite.start(
    suite.config(lvs.servers, { algorithm: "rr", persistence: "60s" }),
    lvs.servers,
  );
  const result = await lvs.burst(60);
  assert.equal(result.failed, 0);
  assert.equal(Object.keys(result.servers).length, 1, JSON.stringify(result.servers));
  assert.match(await lvs.ruleset(), /update @p_/);
}

/**
 * A connection held open through the VIP, then its server drained: new connections go to the
 * other server, and the held one is still answered by the drained server. `whileHeld` runs
 * right after the drain, with the drained server, for a mode's own checks of the connection.
 */
export async function drainLetsEstablishedConnectionsFinish(
  suite: KernelSuite,
  whileHeld: (drained: LabServer) => Promise<void> = async () => {},
): Promise<void> {
  const { lvs } = suite;
  const pair = lvs.servers.slice(0, 2);
  await suite.start(suite.config(pair, { algorithm: "rr" }), pair);
  const holder = spawnIn(lvs.client, process.execPath, [
    ...[CLIENT_SCRIPT, "hold", "--host", VIP, "--port", "80"],
  ]);
  let output = "";
  holder.stdout.on("data", (chunk) => {
    output += chunk;
  });
  const answers = () => output.split("\n").filter((line) => line.includes("server"));
  try {
    await waitFor("the held connection's first answer", () => answers().length >= 1, 10_000);
    const held = (JSON.parse(answers()[0]) as { server: string }).server;
    await lvs.ctl("drain", "web", held);
    const drained = lvs.servers.find((server) => server.name === held);
    assert.ok(drained, `no lab server named ${held}`);
    await whileHeld(drained);
    await waitFor("the drained server out of the dispatch", async () => {
      return !(await dispatchesTo(lvs, drained));
    });
    const result = await lvs.burst(40);
    assert.equal(result.servers[held], undefined, JSON.stringify(result.servers));
    holder.kill("SIGUSR1");
    await waitFor("a second answer on the held connection", () => answers().length >= 2, 10_000);
    assert.equal((JSON.parse(answers()[1]) as { server: string }).server, held);
  } finally {
    holder.kill("SIGTERM");
  }
}

/**
 * `ctl list` prints the service as `ipvsadm -L -n` does, rs1 with its `forward` method
 * (Masq, Route, Tunnel); `ctl connections` as `ipvsadm -L -c`, the client's connections in
 * `state` (a conntrack state in NAT; in DR and TUN FLOW while open, FIN_WAIT once the client
 * closed).
 */
export async function ctlListsTheServiceLikeIpvsadm(
  suite: KernelSuite,
  forward: "Masq" | "Route" | "Tunnel",
  state: string,
): Promise<void> {
  const { lvs } = suite;
  await suite.start(suite.config(lvs.servers.slice(0, 2), { algorithm: "wlc" }), []);
  await lvs.burst(20);
  await sleep(1200);
  const list = await lvs.ctl("list");
  assert.match(list, new RegExp(`TCP  ${literally(VIP)}:80 wlc`));
  assert.match(
    list,
    new RegExp(`-> ${literally(lvs.servers[0].address)}:80\\s+${forward}\\s+\\d+\\s+\\d+\\s+\\d+`),
  );
  // The burst's connections are closed: IPVS counts them in InActConn (NAT: TIME_WAIT in
  // conntrack; DR and TUN: the client's FIN moved each flow to the closing set).
  let active = 0;
  let inactive = 0;
  for (const match of list.matchAll(
    new RegExp(`-> \\S+\\s+${forward}\\s+\\d+\\s+(\\d+)\\s+(\\d+)`, "g"),
  )) {
    active += Number(match[1]);
    inactive += Number(match[2]);
  }
  assert.ok(inactive >= 20, `the closed connections are inactive:\n${list}`);
  if (forward !== "Masq") assert.equal(active, 0, `no flow of the burst is open:\n${list}`);
  const connections = await lvs.ctl("connections");
  assert.ok(connections.includes(state), connections);
  assert.match(connections, new RegExp(`${literally(CLIENT)}:\\d+`));
}

/**
 * A ballast killed with SIGKILL leaves its table (`table`, as `nft list ruleset` names it)
 * forwarding; a new start takes over and forwards too; a clean stop removes that table and
 * leaves another table (`inet other`) alone.
 */
export async function crashKeepsForwardingAndStopRemovesOnlyBallast(
  suite: KernelSuite,
  table: "table ip ballast" | "table netdev ballast",
): Promise<void> {
  const { lvs } = suite;
  await lvs.director.exec(requireProgram("nft"), ["add", "table", "inet", "other"]);
  const pair = lvs.servers.slice(0, 2);
  const yaml = suite.config(pair);
  await suite.start(yaml, pair);
  suite.ballast?.process.kill("SIGKILL");
  await sleep(200);
  assert.ok((await lvs.ruleset()).includes(table), `${table} went with the crash`);
  assert.equal((await lvs.burst(20)).failed, 0);
  await suite.start(yaml, pair);
  assert.equal((await lvs.burst(20)).failed, 0);
  await suite.stop();
  const ruleset = await lvs.ruleset();
  assert.ok(!ruleset.includes(table), `${table} is still there`);
  assert.ok(ruleset.includes("table inet other"), "the other table went too");
}

/** `text` as a regular expression that matches it literally. */
function literally(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
