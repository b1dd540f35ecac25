/** The config check: an L4 listener's pool may only hash the client address (and port). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { configSchema } from "../../src/config/schema/index.js";

function configWith(protocol: "tcp" | "udp", hashKey: unknown) {
  return {
    listeners: [{ name: "l4", protocol, bind: "127.0.0.1:0", pool: "db" }],
    pools: {
      db: { algorithm: "maglev", hash_key: hashKey, backends: [{ address: "127.0.0.1:5432" }] },
    },
  };
}

describe("hash_key for L4 listeners", () => {
  it("accepts client_ip and client_ip_port", () => {
    for (const protocol of ["tcp", "udp"] as const) {
      for (const key of ["client_ip", "client_ip_port"]) {
        assert.equal(
          configSchema.safeParse(configWith(protocol, key)).success,
          true,
          `${protocol} ${key}`,
        );
      }
    }
  });

  it("refuses request-based keys with the path and the reason", () => {
    for (const key of ["url", "path", "host", { header: "x-user" }, { cookie: "s" }]) {
      const result = configSchema.safeParse(configWith("tcp", key));
      assert.equal(result.success, false, JSON.stringify(key));
      const issue = result.error!.issues.find((i) => i.path.join(".") === "pools.db.hash_key");
      assert.ok(issue, JSON.stringify(result.error!.issues));
      assert.match(issue.message, /can only hash "client_ip" or "client_ip_port"/);
    }
  });
});
