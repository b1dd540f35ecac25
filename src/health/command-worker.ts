/** The worker thread that spawns exec and ping checks, away from the data plane's event loop. */
import { parentPort } from "node:worker_threads";
import { spawnCommand } from "./spawn-command.js";

/** A message from the main thread: run a command, or abort one that runs. */
export type CommandRequest =
  | { type: "run"; id: number; argv: string[]; detailChars: number }
  | { type: "abort"; id: number };

/** The answer to a `run`. */
export interface CommandReply {
  id: number;
  ok: boolean;
  detail: string;
}

const port = parentPort;
if (port !== null) {
  const running = new Map<number, AbortController>();
  port.on("message", (request: CommandRequest) => {
    if (request.type === "abort") {
      running.get(request.id)?.abort();
      return;
    }
    const controller = new AbortController();
    running.set(request.id, controller);
    spawnCommand(request.argv, controller.signal, request.detailChars).then((result) => {
      running.delete(request.id);
      const reply: CommandReply = { id: request.id, ok: result.ok, detail: result.detail };
      port.postMessage(reply);
    });
  });
}
