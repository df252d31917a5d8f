// A person's way through a hearing, once they are signed in (invitation or staff account):
// pre-flight → JoinHearing → the waiting room or the room (as the court admits, stands down or
// removes them) → left, with the media connection and the hearing's live log kept across these
// pages. A redraw of the same address (a language switch) keeps them; leaving the address stops
// them without telling the server (it marks a closed tab disconnected after a grace by itself).
import { api, refusal } from "../api";
import { button, clear, h, notice, title } from "../dom";
import { HearingState, Presence, type Participant } from "../gen/court/v1/common_pb";
import { HearingLive } from "../hearing-live";
import { strings } from "../i18n";
import { MediaLink, prepared, stopStream } from "../media";
import { renderPreflight } from "./room-preflight";
import { waitingView } from "./room-waiting";
import { roomView } from "./hearing";

const T = strings(
  {
    connecting: "Connecting your camera and microphone…",
    connected: "Connected",
    reconnecting: "Connection lost. Reconnecting…",
    replacedHeading: "This hearing is open in another tab or device",
    replaced: "You joined the hearing somewhere else, so this tab stopped. You can continue here instead.",
    takeOver: "Use this tab here",
    closed: "Your connection to the hearing has ended.",
    mediaLabel: "Connection",
    leftHeading: "You have left the hearing",
    leftBody: "You can rejoin while the hearing goes on.",
    rejoin: "Rejoin",
    refusedHeading: "You cannot join the hearing now",
    removedHeading: "You are no longer in this hearing",
    removed: "The court has removed you from this hearing.",
    again: "Try again",
    joining: "Joining…",
  },
  {
    connecting: "正在连接您的摄像头和麦克风…",
    connected: "已连接",
    reconnecting: "连接中断，正在重新连接…",
    replacedHeading: "本庭审已在另一个标签页或设备上打开",
    replaced: "您已在其他地方加入庭审，因此本标签页已停止。您也可以改回在这里继续。",
    takeOver: "在此标签页继续",
    closed: "您与庭审的连接已结束。",
    mediaLabel: "连接",
    leftHeading: "您已离开庭审",
    leftBody: "庭审进行期间，您可以重新加入。",
    rejoin: "重新加入",
    refusedHeading: "您现在无法加入庭审",
    removedHeading: "您已不在本次庭审中",
    removed: "法庭已将您移出本次庭审。",
    again: "重试",
    joining: "正在加入…",
  },
);

export interface Entry {
  hearingId: string;
  /** The address this flow belongs to. */
  hash: string;
  /** A line above the pre-flight's heading (e.g. the person's name and role). */
  caption?: string;
}

type Phase = "preflight" | "waiting" | "room" | "left" | "refused";

class Flow {
  phase: Phase = "preflight";
  live: HearingLive | null = null;
  link: MediaLink | null = null;
  me: Participant | null = null;
  private refusalHeading = "";
  private refusalText = "";
  private stopPreflight: (() => void) | null = null;
  private view: { update(): void; stop?(): void } | null = null;
  private rejoining = false;
  private readonly mediaStatus = h("div", { class: "media-status", id: "media-status" });

  constructor(public root: HTMLElement, readonly entry: Entry) {}

  draw(): void {
    this.stopPreflight?.();
    this.stopPreflight = null;
    this.view?.stop?.();
    this.view = null;
    const root = this.root;
    switch (this.phase) {
      case "preflight":
        this.stopPreflight = renderPreflight(root, { caption: this.entry.caption, onJoin: () => this.join() });
        return;
      case "waiting": {
        const v = waitingView(this.live!, this.mediaStatus, () => void this.leave());
        this.view = v;
        clear(root, v.el);
        break;
      }
      case "room": {
        const v = roomView(this.live!, this.link!, this.me!, this.mediaStatus, () => void this.leave());
        this.view = v;
        clear(root, v.el);
        break;
      }
      case "left":
        clear(
          root,
          title(T("leftHeading")),
          h("p", { class: "lead" }, T("leftBody")),
          button(T("rejoin"), () => this.go("preflight"), "primary", { id: "rejoin-btn" }),
        );
        return;
      case "refused":
        clear(
          root,
          title(this.refusalHeading),
          notice("error", this.refusalText),
          button(T("again"), () => this.go("preflight"), "secondary", { id: "try-again" }),
        );
        return;
    }
    this.showLink();
  }

  private go(phase: Phase): void {
    this.phase = phase;
    this.draw();
  }

  private refuse(heading: string, text: string): void {
    this.stopAll();
    this.refusalHeading = heading;
    this.refusalText = text;
    this.go("refused");
  }

  async join(): Promise<void> {
    const hearingId = this.entry.hearingId;
    try {
      this.me = await api.hearings.joinHearing({ hearingId });
    } catch (e) {
      this.refuse(T("refusedHeading"), refusal(e).text);
      return;
    }
    const live = new HearingLive(hearingId);
    this.live = live;
    live.subscribe(() => this.onLive());
    await live.start().catch(() => undefined);
    const link = new MediaLink(hearingId, prepared.stream ?? new MediaStream());
    this.link = link;
    link.subscribe(() => this.onLink());
    link.start();
    this.go(this.me.presence === Presence.ADMITTED ? "room" : "waiting");
  }

  private mine(): Participant | undefined {
    return this.live?.hearing?.participants.find((p) => p.id === this.me?.id);
  }

  private onLive(): void {
    const live = this.live;
    if (!live || (this.phase !== "waiting" && this.phase !== "room")) return;
    const p = this.mine();
    const removed = live.events.some((e) => e.payload.case === "removed" && e.payload.value.participantId === this.me?.id);
    if (live.ended && !removed) {
      this.refuse(T("removedHeading"), refusal(live.ended).text);
      return;
    }
    if (removed || p?.presence === Presence.REMOVED) {
      this.refuse(T("removedHeading"), T("removed"));
      return;
    }
    if (p?.presence === Presence.DISCONNECTED) void this.rejoin();
    const want: Phase | null = p?.presence === Presence.ADMITTED ? "room" : p?.presence === Presence.WAITING ? "waiting" : null;
    if (want && want !== this.phase) this.go(want);
    else this.view?.update();
  }

  /** The server marked this person disconnected (or ended their media) while the page is still
   *  here: join again, as the same participant, and connect media again. */
  private async rejoin(): Promise<void> {
    const over = (s?: HearingState) => s === HearingState.ADJOURNED || s === HearingState.CANCELLED;
    if (this.rejoining || !this.live || over(this.live.hearing?.state) || this.link?.state === "replaced") return;
    this.rejoining = true;
    try {
      this.me = await api.hearings.joinHearing({ hearingId: this.entry.hearingId });
      if (this.link?.state === "closed") this.link.takeOver();
      await this.live.refetch();
    } catch {
      // shown by the link's and the log's own states
    } finally {
      this.rejoining = false;
    }
  }

  private onLink(): void {
    // Ended by the server, or back after a drop the server counted as leaving: join again.
    if (this.link?.state === "closed" || (this.link?.state === "connected" && this.mine()?.presence === Presence.DISCONNECTED)) void this.rejoin();
    this.showLink();
  }

  private showLink(): void {
    const link = this.link;
    if (!link) return clear(this.mediaStatus);
    const line = (text: string) => h("p", { class: `media-state media-${link.state}`, role: "status" }, `${T("mediaLabel")}: `, h("span", { id: "media-state", "data-state": link.state }, text));
    switch (link.state) {
      case "connecting":
        return clear(this.mediaStatus, line(T("connecting")));
      case "connected":
        return clear(this.mediaStatus, line(T("connected")));
      case "reconnecting":
        return clear(this.mediaStatus, line(T("reconnecting")));
      case "replaced":
        return clear(
          this.mediaStatus,
          h("span", { id: "media-state", "data-state": link.state, hidden: true }),
          notice("warning", h("div", {}, h("p", {}, T("replaced")), button(T("takeOver"), () => link.takeOver(), "primary", { id: "take-over" })), T("replacedHeading")),
        );
      case "closed":
        return clear(this.mediaStatus, h("span", { id: "media-state", "data-state": link.state, hidden: true }), notice("info", T("closed")));
    }
  }

  async leave(): Promise<void> {
    this.link?.stop();
    await api.hearings.leaveHearing({ hearingId: this.entry.hearingId, reason: "left the hearing" }).catch(() => undefined);
    this.stopAll();
    this.go("left");
  }

  stopAll(): void {
    this.stopPreflight?.();
    this.stopPreflight = null;
    this.view?.stop?.();
    this.view = null;
    this.link?.stop();
    this.link = null;
    this.live?.stop();
    this.live = null;
    stopStream(prepared.stream);
    prepared.stream = null;
  }
}

let flow: Flow | null = null;

/** Whether the flow for `hash` is under way (a redraw of its address keeps it). */
export const hasFlow = (hash: string) => flow?.entry.hash === hash;

/** Starts (or redraws) the flow for `entry` in `root`. */
export function enterHearing(root: HTMLElement, entry: Entry): void {
  if (flow && flow.entry.hash === entry.hash) {
    flow.root = root;
    flow.draw();
    return;
  }
  flow?.stopAll();
  flow = new Flow(root, entry);
  flow.draw();
}

/** The screen goes away: stops the flow unless the same address is being drawn again. */
export function leaveScreen(): void {
  if (flow && location.hash !== flow.entry.hash) {
    flow.stopAll();
    flow = null;
  }
}

export const joiningText = () => T("joining");
