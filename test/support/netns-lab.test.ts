/**
 * The namespace lab: namespaces joined by a bridge reach a real nginx in another namespace,
 * cleanup removes every namespace it made (also after a failure), and the sweep removes the
 * leftovers of a crashed run but not those of a live one.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { run } from "./daemon.js";
import { listNamespaces, NETNS_PREFIX, NetnsLab, sweepLeftoverNamespaces } from "./netns.js";
import { type BurstResult, CLIENT_SCRIPT } from "./netns-client.js";
import { requireProgram } from "./programs.js";

const asRoot = process.getuid?.() === 0;

describe("network namespace lab", { skip: asRoot ? false : "needs root" }, () => {
  const labs: NetnsLab[] = [];
  after(async () => {
    for (const lab of labs) await lab.cleanup();
  });

  it("a client namespace reaches nginx in a server namespace through a bridge", async () => {
    const lab = await NetnsLab.create();
    labs.push(lab);
    const sw = await lab.namespace("sw");
    await lab.bridge(sw, "br0");
    const client = await lab.namespace("c");
    const server = await lab.namespace("s");
    await lab.attach(sw, "br0", "p-c", { ns: client, ifname: "eth0", address: "10.9.0.1/24" });
    await lab.attach(sw, "br0", "p-s", { ns: server, ifname: "eth0", address: "10.9.0.2/24" });
    await lab.startNginxIn(server, { body: "server-one" });
    const out = await lab.node(client, CLIENT_SCRIPT, [
      ...["burst", "--host", "10.9.0.2", "--port", "80", "--count", "20", "--concurrency", "4"],
    ]);
    const result = JSON.parse(out) as BurstResult;
    assert.deepEqual(result.servers, { "server-one": 20 });
    assert.equal(result.failed, 0);
  });

  it("cleanup deletes every namespace of the lab, with the processes in them", async () => {
    const lab = await NetnsLab.create();
    const ns = await lab.namespace("a");
    await lab.namespace("b");
    const nginx = await lab.startNginxIn(ns, { body: "x" });
    await lab.cleanup();
    const left = (await listNamespaces()).filter((name) => name.startsWith(lab.prefix));
    assert.deepEqual(left, []);
    assert.notEqual(nginx.daemon.process.exitCode ?? nginx.daemon.process.signalCode, null);
  });

  it("the sweep removes namespaces of dead test processes and keeps those of live ones", async () => {
    const ip = requireProgram("ip");
    // A pid far above pid_max's default cannot be a running process.
    const dead = `${NETNS_PREFIX}999999999-1-left`;
    const live = `${NETNS_PREFIX}${process.pid}-99-mine`;
    for (const name of [dead, live]) assert.equal((await run(ip, ["netns", "add", name])).code, 0);
    try {
      const removed = await sweepLeftoverNamespaces();
      assert.ok(removed.includes(dead), `removed ${removed.join(", ")}`);
      const names = await listNamespaces();
      assert.ok(!names.includes(dead));
      assert.ok(names.includes(live));
    } finally {
      for (const name of [dead, live]) await run(ip, ["netns", "delete", name]);
    }
  });
});
