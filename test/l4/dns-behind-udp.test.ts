/** Two dnsmasq instances behind a udp listener, queried with dig. */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { runCleanups } from "../support/cleanups.js";
import { run } from "../support/daemon.js";
import { requireProgram } from "../support/programs.js";
import { startDnsmasq } from "../support/servers.js";
import { frontUdp } from "./helpers.js";

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  await runCleanups(cleanups);
});

function dig(port: number, name: string) {
  return run(
    requireProgram("dig"),
    ["@127.0.0.1", "-p", String(port), "+short", "+tries=3", "+time=1", name],
    15_000,
  );
}

for (const mode of ["session", "datagram"] as const) {
  describe(`dnsmasq behind a udp listener (mode ${mode})`, () => {
    it("answers every query, spreads them over both servers, and fails over when one dies", async () => {
      const dnsA = await startDnsmasq("10.0.0.1");
      const dnsB = await startDnsmasq("10.0.0.2");
      cleanups.push(dnsA.stop, dnsB.stop);
      const front = await frontUdp(
        [
          { id: "a", host: "127.0.0.1", port: dnsA.port },
          { id: "b", host: "127.0.0.1", port: dnsB.port },
        ],
        { mode },
      );
      cleanups.push(front.close);

      for (let i = 0; i < 5; i++) {
        const answer = await dig(front.port, "x.test");
        assert.equal(answer.code, 0, answer.stderr);
        assert.equal(answer.stdout.trim(), "1.2.3.4");
      }
      const who = new Map<string, number>();
      for (let i = 0; i < 20; i++) {
        const server = (await dig(front.port, "who.test")).stdout.trim();
        who.set(server, (who.get(server) ?? 0) + 1);
      }
      assert.ok((who.get("10.0.0.1") ?? 0) >= 5, `a answered: ${[...who]}`);
      assert.ok((who.get("10.0.0.2") ?? 0) >= 5, `b answered: ${[...who]}`);
      assert.ok(dnsA.queries() >= 10 && dnsB.queries() >= 10);

      await dnsA.stop();
      for (let i = 0; i < 10; i++) {
        const answer = await dig(front.port, "who.test");
        const lines = answer.stdout.trim().split("\n");
        if (mode === "session") {
          // The ICMP port unreachable on the session's socket moves the query at once.
          assert.equal(answer.stdout.trim(), "10.0.0.2", `query ${i} after the kill`);
        } else {
          // One-packet scheduling cannot see the loss; dig's retry lands on the survivor.
          assert.equal(lines.at(-1), "10.0.0.2", `query ${i} after the kill: ${answer.stdout}`);
        }
      }
      // Session mode: one active connection per session on b; datagram mode: none lasting.
      const onB = front.listener.sessions().filter((row) => row.backend === "b").length;
      const b = front.pool.get("b")!;
      assert.equal(b.active + b.inactive, mode === "session" ? onB : 0);
    });
  });
}
