/**
 * Two listeners on one socket address: `check` refuses the config and names both listeners,
 * where `start` used to fail with EADDRINUSE. Addresses that do not collide on Linux (tcp and
 * udp on one port, 127.0.0.1 and ::1, port 0 twice) still pass, and really bind.
 */
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { after, describe, it } from "node:test";
import { parseConfigText } from "../../src/config/load.js";
import { Runtime } from "../../src/runtime/runtime.js";
import { runCli, tempConfigDir } from "./cli.js";

const dir = tempConfigDir();
after(() => dir.cleanup());

/** A config with one listener per `[protocol, bind]` pair, all serving one pool. */
function listenersYaml(binds: [protocol: string, bind: string][]): string {
  const listeners = binds.map(([protocol, bind], i) =>
    protocol === "http"
      ? `  - { name: l${i}, protocol: http, bind: "${bind}", default_pool: api }`
      : `  - { name: l${i}, protocol: ${protocol}, bind: "${bind}", pool: api }`,
  );
  return [
    "listeners:",
    ...listeners,
    "pools:",
    "  api:",
    '    backends: [{ address: "127.0.0.1:3001" }]',
    "",
  ].join("\n");
}

function check(name: string, text: string) {
  return runCli(["check", "--config", dir.write(name, text)]);
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("two listeners on one address", () => {
  it("the same address twice is refused, naming both listeners", () => {
    const result = check(
      "same.yaml",
      listenersYaml([
        ["http", "127.0.0.1:8080"],
        ["tcp", "127.0.0.1:8080"],
      ]),
    );
    assert.equal(result.status, 1, result.stderr);
    assert.match(
      result.stderr,
      /same\.yaml: listeners\[1\]\.bind: listener "l1" binds 127\.0\.0\.1:8080, but listener "l0" \(listeners\[0\]\) already takes that TCP port on 127\.0\.0\.1:8080/,
    );
  });

  it("a wildcard collides with every address of its port, and [::] with 0.0.0.0", () => {
    for (const [first, second] of [
      ["0.0.0.0:8080", "127.0.0.1:8080"],
      ["127.0.0.1:8080", "0.0.0.0:8080"],
      ["[::]:8080", "0.0.0.0:8080"],
      ["[::]:8080", "127.0.0.1:8080"],
      ["[::1]:8080", "[0:0:0:0:0:0:0:1]:8080"],
      ["8080", "127.0.0.1:8080"],
    ]) {
      const result = check(
        "wildcard.yaml",
        listenersYaml([
          ["tcp", first],
          ["http", second],
        ]),
      );
      assert.equal(result.status, 1, `${first} and ${second}: ${result.stderr}`);
      assert.match(result.stderr, /listeners\[1\]\.bind: listener "l1" binds .* listener "l0"/);
    }
  });

  it("udp listeners collide only with udp listeners", () => {
    const result = check(
      "udp.yaml",
      listenersYaml([
        ["udp", "127.0.0.1:5353"],
        ["udp", "0.0.0.0:5353"],
      ]),
    );
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, /listeners\[1\]\.bind: .* already takes that UDP port/);
  });

  it("tcp and udp on one port, 127.0.0.1 and ::1, and port 0 twice pass and bind", async () => {
    const port = await freePort();
    const text = listenersYaml([
      ["http", `127.0.0.1:${port}`],
      ["udp", `127.0.0.1:${port}`],
      ["tcp", `[::1]:${port}`],
      ["tcp", "127.0.0.1:0"],
      ["tcp", "127.0.0.1:0"],
    ]);
    const result = check("fine.yaml", text);
    assert.equal(result.status, 0, result.stderr);
    const runtime = new Runtime(parseConfigText(text, "fine.yaml"));
    try {
      await runtime.start();
      assert.equal(runtime.listeners.size, 5);
    } finally {
      await runtime.stop({ graceful: false });
    }
  });
});
