/**
 * Lease renewals over one etcd keep-alive stream. A renewal is one message on a stream that
 * stays open, not a call of its own, so a node renews thousands of leases a second. A stream
 * that breaks (its member died) fails the renewals waiting on it, and the next renewal opens
 * a new one, on whichever member answers.
 */
import type { Etcd3, IDuplexStream, ILeaseKeepAliveRequest, ILeaseKeepAliveResponse } from "etcd3";

/** Streams tried per renewal: with one member of three down, all three failing is rare. */
const ATTEMPTS = 4;

type KeepAliveStream = IDuplexStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse>;

interface Waiting {
  resolve: (ttlSeconds: number) => void;
  reject: (error: Error) => void;
}

/** Renews etcd leases over a shared keep-alive stream. */
export class LeaseRenewals {
  private stream: Promise<KeepAliveStream> | undefined;
  /** Renewals sent and not yet answered, by lease id, oldest first (etcd answers in order). */
  private readonly waiting = new Map<string, Waiting[]>();
  private closed = false;

  constructor(
    private readonly client: Etcd3,
    private readonly timeoutMs: number,
  ) {}

  /**
   * The lease's TTL in seconds after the renewal; 0 when etcd no longer knows the lease.
   * Tries again on a new stream (and so maybe another member) when one breaks.
   */
  async renew(lease: string): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.renewOnce(lease);
      } catch (error) {
        if (this.closed || attempt >= ATTEMPTS) throw error;
      }
    }
  }

  /** Ends the stream; renewals waiting on it fail. */
  close(): void {
    this.closed = true;
    void this.drop(new Error("the registry is stopping"));
  }

  private async renewOnce(lease: string): Promise<number> {
    if (this.closed) throw new Error("the registry is stopping");
    const current = this.openStream();
    const stream = await current;
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        // A stream with no answer for this long is stuck on a member that went away.
        void this.drop(
          new Error(`etcd did not answer a lease renewal within ${this.timeoutMs} ms`),
          current,
        );
      }, this.timeoutMs);
      const waiting: Waiting = {
        resolve: (ttl) => {
          clearTimeout(timer);
          resolve(ttl);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      let queue = this.waiting.get(lease);
      if (queue === undefined) {
        queue = [];
        this.waiting.set(lease, queue);
      }
      queue.push(waiting);
      stream.write({ ID: lease });
    });
  }

  private openStream(): Promise<KeepAliveStream> {
    if (this.stream !== undefined) return this.stream;
    const opening = this.client.leaseClient.leaseKeepAlive().then((stream) => {
      stream.on("data", (answer: ILeaseKeepAliveResponse) => {
        const queue = this.waiting.get(answer.ID);
        const first = queue?.shift();
        if (queue?.length === 0) this.waiting.delete(answer.ID);
        first?.resolve(Number(answer.TTL));
      });
      const broken = (error?: Error) =>
        void this.drop(error ?? new Error("the etcd keep-alive stream ended"), opening);
      stream.on("error", broken);
      stream.on("end", () => broken());
      return stream;
    });
    opening.catch(() => {
      if (this.stream === opening) this.stream = undefined;
    });
    this.stream = opening;
    return opening;
  }

  /** Forgets the stream (if it is still `which`) and fails everything waiting on it. */
  private async drop(error: Error, which?: Promise<KeepAliveStream>): Promise<void> {
    const stream = this.stream;
    if (stream === undefined || (which !== undefined && stream !== which)) return;
    this.stream = undefined;
    const waiting = [...this.waiting.values()].flat();
    this.waiting.clear();
    for (const w of waiting) w.reject(error);
    try {
      (await stream).cancel();
    } catch {
      // Already broken: nothing to end.
    }
  }
}
