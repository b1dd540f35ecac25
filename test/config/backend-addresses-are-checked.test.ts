/**
 * A backend's "host:port" must name a machine and a port one can connect to: `10.0.0.300`
 * is no IPv4 address (and, ending in a number, no host name either), port 0 is no port to
 * connect to. Host names, IPv4 and bracketed IPv6 addresses still pass.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { parseConfigText } from "../../src/config/load.js";
import { configWith, runCli, tempConfigDir } from "./cli.js";

const dir = tempConfigDir();
after(() => dir.cleanup());

function checkBackend(name: string, address: string) {
  const path = dir.write(name, configWith({ backends: `      - { address: "${address}" }` }));
  return runCli(["check", "--config", path]);
}

describe("backend addresses", () => {
  it("an IPv4 address with a number above 255 is refused", () => {
    const result = checkBackend("octet.yaml", "10.0.0.300:80");
    assert.equal(result.status, 1, result.stderr);
    assert.match(
      result.stderr,
      /octet\.yaml: pools\.api\.backends\[0\]\.address: "10\.0\.0\.300" is not a valid IPv4 address; expected four numbers from 0 to 255.* \(got "10\.0\.0\.300:80"\)/,
    );
  });

  it("port 0 is refused", () => {
    const result = checkBackend("port-zero.yaml", "127.0.0.1:0");
    assert.equal(result.status, 1, result.stderr);
    assert.match(
      result.stderr,
      /port-zero\.yaml: pools\.api\.backends\[0\]\.address: port 0 cannot be connected to; expected a port from 1 to 65535/,
    );
  });

  it("other addresses that name no machine are refused", () => {
    for (const address of [
      "10.1:80",
      "1.2.3.4.5:80",
      "[::1::2]:80",
      "-bad-.example:80",
      "a..b:80",
    ]) {
      const result = checkBackend("bad.yaml", address);
      assert.equal(result.status, 1, `${address}: ${result.stderr}`);
      assert.match(result.stderr, /backends\[0\]\.address: .* is not a valid/, address);
    }
  });

  it("a sorry server on port 0 and a listener on 10.0.0.300 are refused too", () => {
    const path = dir.write(
      "others.yaml",
      configWith({ pool: '    sorry_server: "127.0.0.1:0"' }).replace(
        "127.0.0.1:8080",
        "10.0.0.300:8080",
      ),
    );
    const result = runCli(["check", "--config", path]);
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, /pools\.api\.sorry_server: port 0 cannot be connected to/);
    assert.match(result.stderr, /listeners\[0\]\.bind: "10\.0\.0\.300" is not a valid IPv4/);
  });

  it("host names, IPv4 and IPv6 addresses pass; listeners may still bind port 0", () => {
    const config = parseConfigText(
      configWith({
        backends: [
          "db-1.internal:5432",
          "my_service:80",
          "localhost.:8080",
          "10.0.0.30:80",
          "[::1]:8080",
          "[::ffff:10.0.0.1]:80",
        ]
          .map((address) => `      - { address: "${address}" }`)
          .join("\n"),
      }).replace("127.0.0.1:8080", "127.0.0.1:0"),
      "good.yaml",
    );
    assert.deepEqual(
      config.pools.api.backends.map((b) => b.address.host),
      ["db-1.internal", "my_service", "localhost.", "10.0.0.30", "::1", "::ffff:10.0.0.1"],
    );
    assert.equal(config.listeners[0].bind.port, 0);
  });
});
