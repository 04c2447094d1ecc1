/**
 * The event log: an append-only record of every change, one event per thing changed,
 * written in the same atomic unit as the change itself. Audit history, rollback and
 * watch all read it.
 *
 *   events        <seq, 16 digits>                → event record
 *   model_events  <model key>:<seq, 16 digits>    → ''  (one model's history)
 *   scope_events  <tenant scope>:<seq, 16 digits> → ''  (one tenant's, or the global, log)
 *
 * The scope index lets a tenant read its log without reading, or taking time over,
 * any other tenant's events.
 *
 * `seq` is one sequence for the whole registry, allocated when a unit is submitted to
 * the commit queue. Units commit in submission order, so seqs are strictly increasing
 * in commit order, and a reader (a view, a watcher) never sees seq n+1 without n. A
 * failed batch rejects every unit queued with it, and the next allocation continues
 * from what the disk holds, so seqs have no gaps either.
 */

import { corruption } from '../errors.js';
import type { CommitQueue, ReadView, WriteOp } from './commit-queue.js';
import { escapeSegment, pad, parseModelKey, scopeRange } from './keys.js';
import type { Level } from './level.js';
import { NS, decodeEvent, encodeRecord, type EventKind, type EventRecord } from './records.js';

const SEQ_DIGITS = 16;

/** A change a statement makes, as the registry reports it for the log. */
export interface EventInput {
  readonly kind: EventKind;
  /** Head key (tenant-qualified) of the model changed. */
  readonly model: string;
  readonly version: number | null;
  /** What was there before: a version, a stage; null when nothing was. */
  readonly oldValue?: string | number | null;
  /** What is there now. */
  readonly newValue?: string | number | null;
  /** A few further facts, e.g. `{ job_id }`. */
  readonly detail?: Readonly<Record<string, unknown>> | null;
  /** Who made it, when it differs from the unit's actor (a transaction's statements each have their own). */
  readonly actor?: string | null;
}

/** The event of an active pointer move of model (head key) `model`; `detail` e.g. `{ rollback: 2 }`. */
export function activeMoved(model: string, from: number | null, to: number | null, detail: Readonly<Record<string, unknown>> | null = null): EventInput {
  return { kind: 'active_moved', model, version: to ?? from, oldValue: from, newValue: to, detail };
}

/** One event as readers see it. */
export interface ModelEvent {
  readonly seq: number;
  readonly at: Date;
  /** The statement's `created_by`, else the handle's default actor (`open({ createdBy })`). */
  readonly actor: string | null;
  /** Tenant owning the model, or null for a global model. */
  readonly tenant: string | null;
  readonly model: string;
  readonly version: number | null;
  readonly kind: EventKind;
  readonly oldValue: string | number | null;
  readonly newValue: string | number | null;
  readonly detail: Readonly<Record<string, unknown>> | null;
}

/** Key of event `seq` in `events`. */
export function eventKey(seq: number): string {
  return pad(seq, SEQ_DIGITS);
}

/** Key of event `seq` in `model_events`. */
export function modelEventKey(model: string, seq: number): string {
  return `${model}:${pad(seq, SEQ_DIGITS)}`;
}

/** Range of one model's entries in `model_events`, in seq order. */
export function modelEventRange(model: string): { gt: string; lt: string } {
  return { gt: `${model}:`, lt: `${model};` };
}

/** Key of event `seq` in `scope_events`; `scope` is the escaped tenant, '' for global models. */
export function scopeEventKey(scope: string, seq: number): string {
  return `${scope}:${pad(seq, SEQ_DIGITS)}`;
}

/** The tenant scope of a model key: everything before its `:` (the escaped tenant, '' for global). */
export function scopeOf(model: string): string {
  return model.slice(0, model.indexOf(':'));
}

/** Live events a watcher may fall behind by before it rereads them from disk instead. */
const WATCH_BUFFER_LIMIT = 10_000;

/** A watcher's inbox of live events; `behind`: it overflowed and must reread from disk. */
interface Inbox {
  readonly events: ModelEvent[];
  behind: boolean;
  wake: (() => void) | null;
}

const json = (value: unknown): string | null => (value === null || value === undefined ? null : JSON.stringify(value));

/** The event log of one store. */
export class EventLog {
  /** Next seq to hand out; null until it is found out again (at open, after a failed batch). */
  private next: number | null = null;
  /** Highest seq known to be committed (0: none). */
  private committedSeq = 0;
  private readonly inboxes = new Set<Inbox>();
  private closed = false;

  constructor(
    private readonly level: Level,
    private readonly queue: CommitQueue,
  ) {
    queue.listen({
      committed: (ops) => {
        for (const op of ops) {
          if (op.sublevel !== level.events || op.type !== 'put') continue;
          this.committedSeq = Math.max(this.committedSeq, Number(op.key));
          if (this.inboxes.size > 0) this.deliver(op.key, op.value as string);
        }
      },
      // Every unit queued was rejected; a batch can also fail after it was applied, so
      // the next allocation asks the disk where the log ends.
      failed: () => void (this.next = null),
    });
  }

  /** Finds the end of the log; run once at open, before the first write. */
  async start(): Promise<void> {
    for await (const key of this.level.events.keys({ reverse: true, limit: 1 })) this.committedSeq = seqOf(key);
    this.next = this.committedSeq + 1;
  }

  /**
   * Submits one unit with its events: allocates their seqs and queues the unit in one
   * synchronous step, which is what makes seq order commit order. Like
   * {@link CommitQueue.submit}, it refuses a unit computed before a batch failed.
   */
  submit(ops: readonly WriteOp[], events: readonly EventInput[], epoch: number, actor: string | null): Promise<void> {
    return this.submitLogged(ops, events, epoch, actor).durable;
  }

  /**
   * {@link submit}, also telling the seqs its events got: consecutive, `first` to
   * `last` (null when it has none, or when the unit is refused).
   */
  submitLogged(ops: readonly WriteOp[], events: readonly EventInput[], epoch: number, actor: string | null): { durable: Promise<void>; first: number | null; last: number | null } {
    if (events.length === 0 || epoch !== this.queue.epoch) return { durable: this.queue.submit(ops, epoch), first: null, last: null };
    const at = Date.now();
    const all = [...ops];
    let first: number | null = null;
    let last: number | null = null;
    for (const event of events) {
      const seq = this.allocate();
      first ??= seq;
      last = seq;
      const record: EventRecord = {
        seq, at, actor: event.actor !== undefined ? event.actor : actor, model: event.model, version: event.version, kind: event.kind,
        oldValue: json(event.oldValue), newValue: json(event.newValue), detail: json(event.detail),
      };
      all.push(
        { type: 'put', sublevel: this.level.events, key: eventKey(seq), value: encodeRecord(record) },
        { type: 'put', sublevel: this.level.modelEvents, key: modelEventKey(event.model, seq), value: '' },
        { type: 'put', sublevel: this.level.scopeEvents, key: scopeEventKey(scopeOf(event.model), seq), value: '' },
      );
    }
    return { durable: this.queue.submit(all, epoch), first, last };
  }

  /** Events of one model (head key) after `since`, oldest first, at most `limit`. O(events returned). */
  history(view: ReadView, model: string, options: { since?: number; limit?: number } = {}): AsyncGenerator<ModelEvent> {
    const range = { gt: modelEventKey(model, options.since ?? 0), lt: `${model};`, limit: options.limit ?? -1 };
    return this.indexed(view, this.level.modelEvents, NS.modelEvents, range);
  }

  /**
   * Events after `since`, in seq order: of the models in the given tenant scopes
   * (escaped tenant, '' for global) through the scope index, or every event when
   * `scopes` is undefined. O(events of those scopes).
   */
  async *scan(view: ReadView, since = 0, scopes?: readonly string[]): AsyncGenerator<ModelEvent> {
    if (scopes === undefined) {
      for await (const [key, raw] of this.level.events.iterator({ gt: eventKey(since), snapshot: view.snapshot })) {
        const event = decodeEvent(raw, key);
        if (event.seq !== seqOf(key)) throw corruption(NS.events, key, `holds event ${event.seq}`);
        yield toModelEvent(event);
      }
      return;
    }
    const streams = scopes.map((scope) => this.indexed(view, this.level.scopeEvents, NS.scopeEvents, { gt: scopeEventKey(scope, since), lt: scopeRange(scope).lt }));
    yield* mergeBySeq(streams);
  }

  /** The events an index range names, in its order; an entry naming a missing event is CORRUPTION. */
  private async *indexed(view: ReadView, index: Level['modelEvents'], namespace: string, range: { gt: string; lt: string; limit?: number }): AsyncGenerator<ModelEvent> {
    for await (const key of index.keys({ ...range, snapshot: view.snapshot })) {
      const seq = seqOf(key.slice(key.lastIndexOf(':') + 1), namespace, key);
      const raw = view.get(this.level.events, eventKey(seq));
      if (raw === undefined) throw corruption(namespace, key, `names event ${seq}, which namespace '${NS.events}' does not hold`);
      const event = toModelEvent(decodeEvent(raw, eventKey(seq)));
      if (event.seq !== seq) throw corruption(NS.events, eventKey(seq), `holds event ${event.seq}`);
      yield event;
    }
  }

  /**
   * Committed events after `since` (default: from now on), in seq order, none skipped,
   * none twice: first what the log already holds, then live as batches commit. Only
   * events of the given tenant scopes (see {@link scan}) that `accept` takes are
   * yielded. Breaking out of the loop, aborting `signal`, or {@link close} ends it; an
   * abort also ends a `next()` that is waiting for an event. A watcher that falls far
   * behind rereads from disk rather than buffering without bound.
   */
  async *watch(accept: (event: ModelEvent) => boolean | Promise<boolean>, since?: number, scopes?: readonly string[], signal?: AbortSignal): AsyncGenerator<ModelEvent> {
    const inbox: Inbox = { events: [], behind: false, wake: null };
    const ended = (): boolean => this.closed || signal?.aborted === true;
    const onAbort = (): void => inbox.wake?.();
    signal?.addEventListener('abort', onAbort);
    // Subscribed before the first read, so nothing committed meanwhile is missed.
    this.inboxes.add(inbox);
    try {
      let last = since ?? this.committedSeq;
      let reread = since !== undefined;
      while (!ended()) {
        if (reread) {
          reread = false;
          inbox.behind = false;
          const view = this.queue.view();
          try {
            for await (const event of this.scan(view, last, scopes)) {
              last = event.seq;
              if (await accept(event)) yield event;
              if (ended()) return;
            }
          } finally {
            view.release();
          }
        }
        while (inbox.events.length > 0 && !inbox.behind) {
          const event = inbox.events.shift()!;
          if (event.seq <= last) continue; // read from disk already
          if (scopes && !scopes.includes(event.tenant === null ? '' : escapeSegment(event.tenant))) continue;
          last = event.seq;
          if (await accept(event)) yield event;
          if (ended()) return;
        }
        if (inbox.behind) {
          inbox.events.length = 0;
          reread = true;
          continue;
        }
        if (!ended()) await new Promise<void>((resolve) => (inbox.wake = resolve));
        inbox.wake = null;
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.inboxes.delete(inbox);
    }
  }

  /** Ends every watcher (the registry is closing). */
  close(): void {
    this.closed = true;
    for (const inbox of this.inboxes) inbox.wake?.();
  }

  /** Hands one committed event to every watcher. */
  private deliver(key: string, raw: string): void {
    let event: ModelEvent;
    try {
      event = toModelEvent(decodeEvent(raw, key));
    } catch {
      // Never throw into the commit loop: watchers reread from disk, where the error surfaces.
      for (const inbox of this.inboxes) {
        inbox.behind = true;
        inbox.wake?.();
      }
      return;
    }
    for (const inbox of this.inboxes) {
      if (inbox.behind) continue;
      if (inbox.events.length >= WATCH_BUFFER_LIMIT) inbox.behind = true;
      else inbox.events.push(event);
      inbox.wake?.();
    }
  }

  private allocate(): number {
    if (this.next === null) {
      // After a failure the published state is what the disk holds; a batch reported
      // failed may still have been applied, so walk past any seqs it wrote.
      let seq = this.committedSeq + 1;
      while (this.queue.readLatest(this.level.events, eventKey(seq)) !== undefined) seq++;
      this.committedSeq = seq - 1;
      this.next = seq;
    }
    return this.next++;
  }
}

/** Merges streams that are each in seq order into one in seq order. */
export async function* mergeBySeq(streams: readonly AsyncGenerator<ModelEvent>[]): AsyncGenerator<ModelEvent> {
  if (streams.length === 1) return yield* streams[0]!;
  const heads = await Promise.all(streams.map((stream) => stream.next()));
  try {
    for (;;) {
      let pick = -1;
      for (let i = 0; i < heads.length; i++) {
        const head = heads[i]!;
        if (!head.done && (pick < 0 || head.value.seq < (heads[pick]!.value as ModelEvent).seq)) pick = i;
      }
      if (pick < 0) return;
      yield heads[pick]!.value as ModelEvent;
      heads[pick] = await streams[pick]!.next();
    }
  } finally {
    await Promise.all(streams.map((stream) => stream.return(undefined)));
  }
}

function seqOf(digits: string, namespace: string = NS.events, key: string = digits): number {
  if (!/^\d{16}$/.test(digits)) throw corruption(namespace, key, 'malformed event sequence number');
  return Number(digits);
}

function parseValue(text: string | null, key: string): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw corruption(NS.events, key, 'embedded JSON is not valid', error);
  }
}

/** An event record as readers see it. */
export function toModelEvent(record: EventRecord): ModelEvent {
  const key = eventKey(record.seq);
  const id = parseModelKey(record.model);
  if (!id) throw corruption(NS.events, key, `field 'model' is not a model key`);
  return {
    seq: record.seq,
    at: new Date(record.at),
    actor: record.actor,
    tenant: id.tenant,
    model: id.name,
    version: record.version,
    kind: record.kind,
    oldValue: parseValue(record.oldValue, key) as string | number | null,
    newValue: parseValue(record.newValue, key) as string | number | null,
    detail: parseValue(record.detail, key) as Record<string, unknown> | null,
  };
}
