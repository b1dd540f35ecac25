/** A min-heap of timed events: the simulator's agenda on the virtual clock. */

/** Something that happens at a virtual time. */
export interface TimedEvent {
  readonly time: number;
}

/**
 * Events in time order; events at the same time come out in the order they went in, so a
 * run is the same on every machine (a plain heap would break ties arbitrarily).
 */
export class EventQueue<E extends TimedEvent> {
  private readonly items: { event: E; order: number }[] = [];
  private nextOrder = 0;

  /** Number of events waiting. */
  get size(): number {
    return this.items.length;
  }

  /** Adds an event. */
  push(event: E): void {
    const items = this.items;
    items.push({ event, order: this.nextOrder++ });
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  /** Removes and returns the earliest event; undefined when empty. */
  pop(): E | undefined {
    const items = this.items;
    if (items.length === 0) return undefined;
    const top = items[0].event;
    const last = items.pop() as { event: E; order: number };
    if (items.length > 0) {
      items[0] = last;
      this.sinkFromTop();
    }
    return top;
  }

  private sinkFromTop(): void {
    const n = this.items.length;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < n && this.before(left, smallest)) smallest = left;
      if (right < n && this.before(right, smallest)) smallest = right;
      if (smallest === i) return;
      this.swap(i, smallest);
      i = smallest;
    }
  }

  private before(a: number, b: number): boolean {
    const x = this.items[a];
    const y = this.items[b];
    return x.event.time < y.event.time || (x.event.time === y.event.time && x.order < y.order);
  }

  private swap(a: number, b: number): void {
    const items = this.items;
    const t = items[a];
    items[a] = items[b];
    items[b] = t;
  }
}
