/**
 * The health file keepalived tracks: ballast writes its fitness there on every change and
 * touches it every heartbeat. keepalived's `track_file` reads the value as soon as it changes
 * (inotify), and its track script fails once the file is older than `stale_after`, which is
 * how a ballast that crashed or hangs loses the VIPs although it can no longer say so.
 */
import { mkdir, rename, unlink, utimes, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { HaConfig } from "../config/schema/index.js";
import type { Logger } from "../log.js";
import type { Pool, PoolEvent } from "../pool/pool.js";
import { type DirectorFitness, directorFitness, FIT, STOPPED, UNFIT } from "./director-fitness.js";

/** What the writer needs of the runtime: the pools, the current `ha` section, and events. */
export interface FitnessSource {
  readonly pools: ReadonlyMap<string, Pool>;
  readonly config: { ha?: HaConfig };
  readonly logger: Logger;
  onPoolEvent(observer: (event: PoolEvent) => void): () => void;
}

/** Keeps the health file in step with the director's fitness while ballast runs. */
export class HaHealthFile {
  readonly path: string;
  private readonly source: FitnessSource;
  private readonly heartbeatMs: number;
  private current: DirectorFitness = { fit: false, reasons: ["not started"] };
  private written: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  /** Writes run one after the other, so an older value never lands after a newer one. */
  private queue: Promise<void> = Promise.resolve();
  private stopped = false;
  /** The last write's error, until a write succeeds. */
  private failure: Error | undefined;

  constructor(source: FitnessSource, ha: HaConfig) {
    this.source = source;
    this.path = ha.health_file;
    this.heartbeatMs = ha.heartbeat;
  }

  /** The latest verdict (for the admin API and logs). */
  get fitness(): DirectorFitness {
    return this.current;
  }

  /**
   * Writes the first verdict, then follows pool events and the heartbeat. Rejects when the
   * file cannot be written: keepalived would never see this director fit.
   */
  async start(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true }).catch((error: Error) => {
      throw new Error(
        `cannot create the folder of the HA health file ${this.path}: ${error.message}`,
      );
    });
    this.evaluate();
    await this.queue;
    if (this.failure !== undefined) {
      throw new Error(`cannot write the HA health file ${this.path}: ${this.failure.message}`);
    }
    this.unsubscribe = this.source.onPoolEvent(() => this.evaluate());
    this.timer = setInterval(() => this.beat(), this.heartbeatMs);
    this.timer.unref();
  }

  /**
   * Writes STOPPED, so keepalived gives the VIPs up at once (call before closing listeners),
   * and stops following; the file stays, and goes stale, until the next start.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribe?.();
    clearInterval(this.timer);
    this.enqueue(STOPPED);
    await this.queue;
  }

  /** Recomputes the verdict; writes the file when its value changes. */
  private evaluate(): void {
    const ha = this.source.config.ha;
    if (this.stopped || ha === undefined) return;
    const next = directorFitness(this.source.pools, ha);
    const changed =
      next.fit !== this.current.fit || next.reasons.join("\n") !== this.current.reasons.join("\n");
    this.current = next;
    const value = next.fit ? FIT : UNFIT;
    if (changed) {
      const fields = { healthFile: this.path, reasons: next.reasons };
      if (next.fit) this.source.logger.info(fields, "director fit: keepalived keeps its priority");
      else this.source.logger.warn(fields, "director unfit: keepalived lowers its priority");
    }
    if (value !== this.written) this.enqueue(value);
  }

  /** Re-evaluates (a reload may have changed the thresholds) and refreshes the file's age. */
  private beat(): void {
    this.evaluate();
    const path = this.path;
    this.queue = this.queue.then(async () => {
      if (this.stopped) return;
      const now = new Date();
      try {
        await utimes(path, now, now);
      } catch {
        // Removed by someone else: write it again.
        await this.write(this.current.fit ? FIT : UNFIT);
      }
    });
  }

  private enqueue(value: number): void {
    this.written = value;
    this.queue = this.queue.then(() => this.write(value));
  }

  /** Replaces the file in one step (write beside it, rename), so keepalived never reads half. */
  private async write(value: number): Promise<void> {
    const temporary = `${this.path}.${process.pid}.tmp`;
    try {
      // Created afresh (O_EXCL), so a link planted under the temporary name in a shared
      // folder cannot make ballast write somewhere else.
      await unlink(temporary).catch(() => undefined);
      await writeFile(temporary, `${value}\n`, { flag: "wx", mode: 0o644 });
      await rename(temporary, this.path);
      this.failure = undefined;
    } catch (error) {
      this.failure = error as Error;
      this.source.logger.error(
        { err: error, healthFile: this.path },
        "could not write the HA health file; keepalived will see it go stale",
      );
    }
  }
}
