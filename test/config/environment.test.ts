// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are literal ${VAR} references
/** `${VAR}` and `${VAR:-default}` in values, without leaking secrets into error messages. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, parseConfigText } from "../../src/config/load.js";

const text = (value: string) => `listeners:
  - name: web
    protocol: http
    bind: ${value}
    default_pool: api
pools:
  api:
    backends:
      - address: "\${BACKEND:-127.0.0.1:3001}"
admin:
  token: "\${TOKEN}"
`;

function errorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error;
  }
  assert.fail("expected a ConfigError");
}

describe("environment interpolation", () => {
  it("replaces variables, uses defaults, and types an unquoted whole value", () => {
    const config = parseConfigText(text("${PORT}"), "env.yaml", {
      env: { PORT: "8081", TOKEN: "s3cret" },
    });
    assert.deepEqual(config.listeners[0].bind, { host: "0.0.0.0", port: 8081 });
    assert.deepEqual(config.pools.api.backends[0].address, { host: "127.0.0.1", port: 3001 });
    assert.equal(config.admin?.token, "s3cret");
  });

  it("a set variable wins over the default; an empty one takes the default", () => {
    const set = parseConfigText(text("8080"), "env.yaml", {
      env: { BACKEND: "10.0.0.9:80", TOKEN: "t" },
    });
    assert.equal(set.pools.api.backends[0].address.host, "10.0.0.9");
    const empty = parseConfigText(text("8080"), "env.yaml", { env: { BACKEND: "", TOKEN: "t" } });
    assert.equal(empty.pools.api.backends[0].address.host, "127.0.0.1");
  });

  it("an unquoted reference inside { } is a YAML error with a hint to quote it", () => {
    const error = errorOf(() =>
      parseConfigText("pools: { api: { slow_start: ${SLOW} } }\n", "flow.yaml", { env: {} }),
    );
    assert.match(error.message, /^flow\.yaml:1:\d+: YAML syntax error: .*quote/);
  });

  it("a secret holding YAML syntax stays one string", () => {
    const config = parseConfigText(text("8080"), "env.yaml", { env: { TOKEN: '": [x] #' } });
    assert.equal(config.admin?.token, '": [x] #');
  });

  it("$${ is a literal ${", () => {
    const config = parseConfigText(
      text("8080").replace('"${TOKEN}"', () => '"$${TOKEN}"'),
      "env.yaml",
      {
        env: {},
      },
    );
    assert.equal(config.admin?.token, "${TOKEN}");
  });

  it("an unset variable without default is an error with its path and position", () => {
    const error = errorOf(() => parseConfigText(text("8080"), "env.yaml", { env: {} }));
    assert.equal(error.issues.length, 1);
    const [issue] = error.issues;
    assert.equal(issue.path, "admin.token");
    assert.equal(issue.line, 11);
    assert.match(error.message, /^env\.yaml: admin\.token: environment variable TOKEN is not set/);
  });

  it("an invalid value from the environment is shown as its reference, not its content", () => {
    const error = errorOf(() =>
      parseConfigText(text("8080"), "env.yaml", { env: { BACKEND: "hunter2", TOKEN: "t" } }),
    );
    assert.match(
      error.message,
      /backends\[0\]\.address: .*\(got \$\{BACKEND:-127\.0\.0\.1:3001\} from the environment\)/,
    );
    assert.ok(!error.message.includes("hunter2"), error.message);
  });
});
