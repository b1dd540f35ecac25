/** A loopback port whose connects hang, for connect-timeout tests. */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { connect, type Socket } from "node:net";

/** A port that never accepts, and how to release it. */
export interface Blackhole {
  port: number;
  close(): void;
}

/**
 * A loopback port whose accept queue is full, so SYNs to it get no answer and connects hang.
 * A child process listens with a backlog of 1 and then blocks its thread (without spinning),
 * so it never accepts; two queued connections fill the backlog (Node turns 0 into 511).
 */
export async function blackholePort(): Promise<Blackhole> {
  const child = spawn(process.execPath, [
    "-e",
    `const s = require("node:net").createServer();
     s.listen({ port: 0, host: "127.0.0.1", backlog: 1 }, () => {
       process.stdout.write(s.address().port + "\\n", () =>
         Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000));
     });`,
  ]);
  const [line] = await once(child.stdout, "data");
  const port = Number(String(line).trim());
  const fillers: Socket[] = [];
  for (let i = 0; i < 2; i++) {
    const filler = connect(port, "127.0.0.1");
    filler.on("error", () => {});
    await once(filler, "connect");
    fillers.push(filler);
  }
  return {
    port,
    close() {
      for (const filler of fillers) filler.destroy();
      child.kill("SIGKILL");
    },
  };
}
