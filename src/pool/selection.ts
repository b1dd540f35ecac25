/**
 * One request's (or connection's) choice of backends: the one way every data plane chooses.
 * The first `next()` honours a pinned backend (a sticky cookie's) or the client's persisted
 * one (LVS `-p`) while it can serve, and otherwise asks the pool's policy; every later call
 * returns a backend not tried yet (nginx's `tried` bitmap, Pingora's unique iterator), so a
 * retry or a connect failover never repeats a backend while another can serve. The answer
 * says why when there is none, so a data plane can answer 502/503 precisely. `end()` settles
 * the client's persistence binding.
 */
import type { BackendState } from "./backend.js";
import type { Lease } from "./lease.js";

/** Why a selection has no backend to offer. */
export type NoBackendReason =
  /** The pool has no backends. */
  | "empty"
  /** None is in service (down, disabled, draining, suspended, weight 0). */
  | "down"
  /** Every backend that could serve was tried already. */
  | "tried"
  /** The ones in service are at their connection limit. */
  | "full";

/** What `next()` gives: a backend with its lease, or why there is none. */
export type SelectionResult =
  | { readonly kind: "backend"; readonly lease: Lease }
  | { readonly kind: "none"; readonly reason: NoBackendReason };

/** What a request brings to the choice. */
export interface SelectRequest {
  /** The hashing key; only keyed algorithms read it. */
  key?: string;
  /** The client's address, for the pool's persistence table (LVS `-p`). */
  client?: string;
  /** A backend the request is pinned to (a sticky cookie's), taken while it is in service. */
  pinned?: BackendState;
}

/** What a selection needs of its pool. */
export interface SelectionSource {
  /** A backend for `key` not among `tried`, or undefined. */
  chooseUntried(key: string | undefined, tried: readonly BackendState[]): BackendState | undefined;
  /** Takes `backend` for one connection or request. */
  take(backend: BackendState): Lease;
  /** Why nothing is left once `tried` are excluded. */
  reasonForNone(tried: readonly BackendState[]): NoBackendReason;
  /** The persistence binding of `client`, when it is in force and its backend can serve. */
  persistedBackend(client: string): BackendState | undefined;
  /** Binds (or re-binds) `client` to `backend` and counts the connection. */
  persist(client: string, backend: BackendState, rebind: boolean): void;
  /** The client's connection ended: its binding lingers for the persistence timeout. */
  unpersist(client: string): void;
  /** True when the pool keeps persistence bindings. */
  readonly persistent: boolean;
}

/** One request's iterator over the backends of a pool. */
export class Selection {
  private readonly tried: BackendState[] = [];
  /** The client holds a persistence binding through this selection. */
  private bound = false;
  private ended = false;

  constructor(
    private readonly source: SelectionSource,
    private readonly request: SelectRequest,
  ) {}

  /** How many backends were handed out so far. */
  get attempts(): number {
    return this.tried.length;
  }

  /** The backend handed out last, if any. */
  get last(): BackendState | undefined {
    return this.tried[this.tried.length - 1];
  }

  /** The next backend to try (taken: its lease counts it), or why there is none. */
  next(): SelectionResult {
    const backend = this.choose();
    if (backend === undefined) {
      return { kind: "none", reason: this.source.reasonForNone(this.tried) };
    }
    this.tried.push(backend);
    const client = this.request.client;
    if (client !== undefined && this.source.persistent && !this.ended) {
      this.source.persist(client, backend, this.bound);
      this.bound = true;
    }
    return { kind: "backend", lease: this.source.take(backend) };
  }

  /**
   * The last backend once more, for a failure that says nothing against it (a keep-alive
   * connection it had closed, as nginx retries a cached connection); undefined when it can
   * no longer serve.
   */
  again(): SelectionResult {
    const backend = this.last;
    if (backend === undefined || !backend.available) {
      return { kind: "none", reason: this.source.reasonForNone(this.tried) };
    }
    return { kind: "backend", lease: this.source.take(backend) };
  }

  /** The request or connection is over: the persistence binding starts its linger. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.bound) this.source.unpersist(this.request.client!);
  }

  private choose(): BackendState | undefined {
    if (this.tried.length === 0) {
      const { pinned, client } = this.request;
      if (pinned?.available && !pinned.overloaded) return pinned;
      if (client !== undefined && this.source.persistent) {
        const bound = this.source.persistedBackend(client);
        if (bound !== undefined) return bound;
      }
    }
    return this.source.chooseUntried(this.request.key, this.tried);
  }
}
