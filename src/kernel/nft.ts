/** Runs `nft`: one script as one transaction, and the listing of ballast's own tables. */
import { spawn } from "node:child_process";
import type { ExistingObjects, TableObjects } from "./ruleset.js";
import { TABLE } from "./ruleset.js";

/** What a finished nft run printed. */
interface NftResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const NFT_LIMIT_MS = 15_000;

function runNft(args: string[], input?: string): Promise<NftResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("nft", args, { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      if (stdout.length < 64 * 1024 * 1024) stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      if (stderr.length < 65_536) stderr += chunk;
    });
    child.on("error", (error) =>
      reject(
        (error as NodeJS.ErrnoException).code === "ENOENT"
          ? new Error("nft is not installed (Debian package nftables); kernel listeners need it")
          : error,
      ),
    );
    const timer = setTimeout(() => child.kill("SIGKILL"), NFT_LIMIT_MS);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(input ?? "");
  });
}

/** Applies `script` with `nft -f -`: all of it, or on any error none of it (then rejects). */
export async function applyScript(script: string): Promise<void> {
  const result = await runNft(["-f", "-"], script);
  if (result.code !== 0) {
    throw new Error(`nft refused the ruleset (${result.code}): ${result.stderr.trim()}`);
  }
}

/** The chains and sets of `table <family> ballast`, or undefined when it does not exist. */
async function listTable(family: "ip" | "netdev"): Promise<TableObjects | undefined> {
  const result = await runNft(["-j", "-t", "list", "table", family, TABLE]);
  if (result.code !== 0) {
    if (/No such file or directory/.test(result.stderr)) return undefined;
    throw new Error(`nft list table ${family} ${TABLE} failed: ${result.stderr.trim()}`);
  }
  const objects: TableObjects = { chains: [], sets: [], counters: [] };
  const parsed = JSON.parse(result.stdout) as { nftables: Record<string, { name?: string }>[] };
  for (const item of parsed.nftables) {
    if (item.chain?.name !== undefined) objects.chains.push(item.chain.name);
    if (item.set?.name !== undefined) objects.sets.push(item.set.name);
    if (item.map?.name !== undefined) objects.sets.push(item.map.name);
    if (item.counter?.name !== undefined) objects.counters.push(item.counter.name);
  }
  return objects;
}

/** What ballast's two tables hold now. */
export async function existingObjects(): Promise<ExistingObjects> {
  return { ip: await listTable("ip"), netdev: await listTable("netdev") };
}

/** One element of a dynamic set, as `nft -j list set` gives it. */
export interface SetElement {
  key: unknown;
  expiresMs: number;
}

/** The elements of a set of ballast's table (a DR server's flow set); none when it is gone. */
export async function listSet(family: "ip" | "netdev", name: string): Promise<SetElement[]> {
  const result = await runNft(["-j", "list", "set", family, TABLE, name]);
  if (result.code !== 0) return [];
  const parsed = JSON.parse(result.stdout) as { nftables: { set?: { elem?: unknown[] } }[] };
  const elements: SetElement[] = [];
  for (const item of parsed.nftables) {
    for (const element of item.set?.elem ?? []) {
      // { elem: { val, expires } } when the element has a timeout, else the value itself
      const wrapped = (element as { elem?: { val: unknown; expires?: number } }).elem;
      elements.push({ key: wrapped?.val ?? element, expiresMs: (wrapped?.expires ?? 0) * 1000 });
    }
  }
  return elements;
}

/** The packets a named counter of ballast's table has counted, or 0 when it is not there. */
export async function readCounter(family: "ip" | "netdev", name: string): Promise<number> {
  const result = await runNft(["-j", "list", "counter", family, TABLE, name]);
  if (result.code !== 0) return 0;
  const parsed = JSON.parse(result.stdout) as { nftables: { counter?: { packets?: number } }[] };
  for (const item of parsed.nftables)
    if (item.counter?.packets !== undefined) return item.counter.packets;
  return 0;
}

/** Removes ballast's tables (those that exist), in one transaction; other tables stay. */
export async function removeTables(existing: ExistingObjects): Promise<void> {
  const lines: string[] = [];
  if (existing.ip !== undefined) lines.push(`delete table ip ${TABLE}`);
  if (existing.netdev !== undefined) lines.push(`delete table netdev ${TABLE}`);
  if (lines.length > 0) await applyScript(`${lines.join("\n")}\n`);
}
