// A hearing as the page sees it, live: the Hearing (state, roster) and its log, followed through
// WatchHearing. The stream resumes after a dropped connection from the last event seen (the
// server replays from `after_seq`: never a gap, never a repeat), with backoff; after each event
// that changes the hearing or its roster the Hearing is fetched again. Screens subscribe.
import { Code, ConnectError } from "@connectrpc/connect";
import type { Hearing, HearingEvent } from "./gen/court/v1/common_pb";
import { api } from "./api";

export type LiveListener = (live: HearingLive, event?: HearingEvent) => void;

/** Events that change what GetHearing answers (state, roster, presence, mute, lock). */
const CHANGES_HEARING = new Set([
  "scheduled", "invited", "inviteRedeemed", "stateChanged", "joined", "left", "admitted", "stoodDown",
  "removed", "muted", "roomLocked", "inviteReissued",
]);

export class HearingLive {
  hearing: Hearing | null = null;
  readonly events: HearingEvent[] = [];
  /** Whether the event stream is connected now (false while it retries). */
  connected = false;
  /** The last refusal that ended the stream for good (e.g. removed), if any. */
  ended: ConnectError | null = null;
  private listeners = new Set<LiveListener>();
  private abort = new AbortController();
  private lastSeq = 0n;
  private refetching: Promise<void> | null = null;

  constructor(readonly hearingId: string) {}

  subscribe(fn: LiveListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(event?: HearingEvent): void {
    for (const fn of this.listeners) fn(this, event);
  }

  /** Fetches the hearing, then follows its log until `stop`. */
  async start(): Promise<void> {
    await this.refetch();
    void this.follow();
  }

  stop(): void {
    this.abort.abort();
    this.listeners.clear();
  }

  get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  async refetch(): Promise<void> {
    if (this.refetching) return this.refetching;
    this.refetching = (async () => {
      try {
        this.hearing = await api.hearings.getHearing({ hearingId: this.hearingId }, { signal: this.abort.signal });
        this.emit();
      } finally {
        this.refetching = null;
      }
    })();
    return this.refetching;
  }

  private async follow(): Promise<void> {
    let delay = 500;
    while (!this.stopped) {
      try {
        const stream = api.hearings.watchHearing({ hearingId: this.hearingId, afterSeq: this.lastSeq }, { signal: this.abort.signal });
        for await (const ev of stream) {
          if (!this.connected) {
            this.connected = true;
            delay = 500;
            this.emit();
          }
          if (ev.seq <= this.lastSeq) continue;
          this.lastSeq = ev.seq;
          this.events.push(ev);
          if (ev.payload.case && CHANGES_HEARING.has(ev.payload.case)) await this.refetch().catch(() => undefined);
          this.emit(ev);
        }
      } catch (e) {
        if (this.stopped) return;
        const err = ConnectError.from(e);
        if (err.code === Code.PermissionDenied || err.code === Code.NotFound || err.code === Code.Unauthenticated) {
          this.ended = err;
          this.connected = false;
          this.emit();
          return;
        }
      }
      if (this.stopped) return;
      if (this.connected) {
        this.connected = false;
        this.emit();
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 10_000);
      // Catch up on the roster after a gap.
      await this.refetch().catch(() => undefined);
    }
  }
}
