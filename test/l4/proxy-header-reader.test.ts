/** The PROXY header reader answers exactly once, whatever ends the wait. */
import assert from "node:assert/strict";
import { once } from "node:events";
import { type AddressInfo, connect, createServer, type Socket } from "node:net";
import { describe, it } from "node:test";
import { readProxyHeader } from "../../src/tcp/proxy-header-reader.js";

/** A connected pair: the server side (read from) and the client side. */
async function socketPair(): Promise<{ server: Socket; client: Socket; close(): void }> {
  const listener = createServer();
  listener.listen(0, "127.0.0.1");
  await once(listener, "listening");
  const accepted = once(listener, "connection");
  const client = connect((listener.address() as AddressInfo).port, "127.0.0.1");
  const [server] = (await accepted) as [Socket];
  return {
    server,
    client,
    close: () => {
      client.destroy();
      server.destroy();
      listener.close();
    },
  };
}

describe("readProxyHeader", () => {
  it("answers at once when the socket is destroyed while waiting (listener stop)", async () => {
    const pair = await socketPair();
    // A wait far longer than the test: only the destroy can end it in time.
    const answers: string[] = [];
    readProxyHeader(pair.server, 60_000, (header, reason) => {
      answers.push(header === undefined ? reason : "header");
    });
    pair.server.destroy();
    const deadline = Date.now() + 2000;
    while (answers.length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    pair.close();
    assert.equal(answers.length, 1, "the callback ran once, without waiting for the timeout");
    assert.match(answers[0], /closed/);
  });

  it("hands over the header and leaves the bytes after it in the socket", async () => {
    const pair = await socketPair();
    const answered = new Promise<string>((resolve) =>
      readProxyHeader(pair.server, 5000, (header, reason) =>
        resolve(header?.addresses?.sourceAddress ?? reason),
      ),
    );
    pair.client.write("PROXY TCP4 10.1.2.3 10.0.0.1 5000 80\r\nhello");
    assert.equal(await answered, "10.1.2.3");
    pair.server.resume();
    const [rest] = (await once(pair.server, "data")) as [Buffer];
    assert.equal(rest.toString(), "hello");
    pair.close();
  });
});
