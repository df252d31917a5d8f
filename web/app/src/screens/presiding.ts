// Placeholder (issue 14): the court's panel in the hearing room (presiding judge and clerks).
import type { HearingLive } from "../hearing-live";

/** Draws the court's controls for `live` into `el`; returns what stops it (streams, timers). */
export function mountCourtPanel(el: HTMLElement, live: HearingLive): () => void {
  el.dataset.hearing = live.hearingId;
  return () => undefined;
}
