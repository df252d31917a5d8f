// What the court must know at once: the current problems from the hearing's log (a recording
// file that failed, media that stopped arriving, recording lost), and each participant's
// connection in words a judge understands (good / fair / poor, with the numbers).
import type { HearingEvent } from "../gen/court/v1/common_pb";
import type { PeerConnection } from "../gen/court/v1/media_pb";
import { PeerState } from "../gen/court/v1/media_pb";
import { clock, peerStateName, strings } from "../i18n";
import type { HearingLive } from "../hearing-live";
import { nameOf } from "./presiding-timeline";

const T = strings(
  {
    faultHeading: "A recording file failed",
    fault: "{file}: {message}. OpenCourt is trying to record into a new file; check the recording after the hearing.",
    faultTrack: "{name}'s own track, {file}: {message}. OpenCourt is trying to record into a new file.",
    stallHeading: "No media from {name}",
    stall: "Nothing has arrived from {name} since {at} on the hearing clock: the recording holds silence for them. Ask them to check their connection.",
    lostHeading: "Recording lost",
    lost: "Nothing was recorded from {from} to {to}: {reason}",
    lostTrack: "Nothing of {name} was recorded from {from} to {to}: {reason}",
    good: "Good",
    fair: "Fair",
    poor: "Poor",
    unmeasured: "not measured yet",
    numbers: "round trip {rtt} ms, {loss}% lost, {kbps} kbit/s",
    silent: "no media for {s} s",
  },
  {
    faultHeading: "录制文件写入失败",
    fault: "{file}：{message}。系统正在改用新文件录制；庭后请核对录音录像。",
    faultTrack: "{name} 的单独音轨 {file}：{message}。系统正在改用新文件录制。",
    stallHeading: "未收到 {name} 的音视频",
    stall: "自庭审计时 {at} 起未收到 {name} 的任何音视频，录制中以静音代替。请提醒其检查网络连接。",
    lostHeading: "录制内容缺失",
    lost: "{from} 至 {to} 未能录制：{reason}",
    lostTrack: "{from} 至 {to} 未能录制 {name} 的音频：{reason}",
    good: "良好",
    fair: "一般",
    poor: "较差",
    unmeasured: "尚未测得",
    numbers: "往返延迟 {rtt} 毫秒，丢包 {loss}%，{kbps} kbit/s",
    silent: "{s} 秒无音视频",
  },
);

/** Losses of one recording this close together (hearing clock) are told as one. */
const TOUCHING_MS = 5000n;

/** A problem the court should see now, with a key that stays the same while it lasts. */
export interface Problem {
  key: string;
  kind: "error" | "warning";
  heading: string;
  text: string;
  /** Media stalls end by themselves (MediaResumed); faults and losses are dismissed by the court. */
  dismissable: boolean;
}

const target = (participantId: string, mediaId = "") => participantId || `media:${mediaId}`;

/** The problems current after `events`: a stall is current until its resumption; a failed
 *  recording file until the gap it leaves is known (a new file took over); a gap that recorded
 *  a loss (it follows a fault, or the media node restarted) until the court dismisses it. */
export function currentProblems(events: HearingEvent[], live: HearingLive, dismissed: Set<string>): Problem[] {
  const stalls = new Map<string, Problem>();
  const faults = new Map<string, Problem>();
  // A failing disk fails file after file (each retry a fault, then its gap): losses of one
  // recording that touch (within a few seconds) are one banner, from its first to its last.
  const lost: Problem[] = [];
  const losing = new Map<string, { problem: Problem; fromMs: bigint; toMs: bigint; reason: string }>();
  for (const ev of events) {
    const p = ev.payload;
    switch (p.case) {
      case "mediaStalled": {
        const who = nameOf(live, p.value.participantId, p.value.mediaId);
        const key = `stall:${target(p.value.participantId, p.value.mediaId)}`;
        stalls.set(key, { key: `${key}:${ev.seq}`, kind: "warning", heading: T("stallHeading", { name: who }), text: T("stall", { name: who, at: clock(p.value.sinceMs) }), dismissable: false });
        break;
      }
      case "mediaResumed":
        stalls.delete(`stall:${target(p.value.participantId, p.value.mediaId)}`);
        break;
      case "left":
      case "removed":
        // Someone who left is not stalled: the room forgets them.
        stalls.delete(`stall:${target(p.value.participantId)}`);
        break;
      case "recordingFault": {
        const f = p.value;
        const text = f.participantId
          ? T("faultTrack", { name: nameOf(live, f.participantId), file: f.file, message: f.message })
          : T("fault", { file: f.file, message: f.message });
        faults.set(target(f.participantId), { key: `fault:${ev.seq}`, kind: "error", heading: T("faultHeading"), text, dismissable: true });
        break;
      }
      case "recordingGap": {
        const g = p.value;
        const after = faults.delete(target(g.participantId));
        if (!after && !/restart/i.test(g.reason)) break;
        const t = target(g.participantId);
        let run = losing.get(t);
        if (!run || g.fromMs > run.toMs + TOUCHING_MS) {
          const problem: Problem = { key: `lost:${ev.seq}`, kind: "error", heading: T("lostHeading"), text: "", dismissable: true };
          lost.push(problem);
          run = { problem, fromMs: g.fromMs, toMs: g.toMs, reason: g.reason };
          losing.set(t, run);
        }
        if (g.toMs > run.toMs) run.toMs = g.toMs;
        const span = { from: clock(run.fromMs), to: clock(run.toMs), reason: run.reason };
        run.problem.text = g.participantId ? T("lostTrack", { ...span, name: nameOf(live, g.participantId) }) : T("lost", span);
        break;
      }
      default:
        break;
    }
  }
  return [...faults.values(), ...lost, ...stalls.values()].filter((x) => !dismissed.has(x.key));
}

export type Quality = "good" | "fair" | "poor";

/** How a peer connection is doing, from the media node's numbers: poor when media stopped, loss
 *  above 5% or a round trip above 400 ms; fair above 1% or 150 ms or jitter above 30 ms. */
export function quality(c: PeerConnection): Quality | null {
  if (c.state !== PeerState.CONNECTED) return null;
  if (c.lastMediaMsAgo > 3000n || c.lossFraction > 0.05 || c.rttMs > 400) return "poor";
  if (c.rttMs === 0 && c.bitrateIn === 0n && c.lossFraction === 0) return null;
  if (c.lossFraction > 0.01 || c.rttMs > 150 || c.jitterMs > 30) return "fair";
  return "good";
}

export const qualityName = (q: Quality) => T(q);

/** "Connected · Good: round trip 40 ms, 0% lost, 64 kbit/s". */
export function connectionWords(c: PeerConnection): { state: string; quality: Quality | null; detail: string } {
  const q = quality(c);
  let detail = "";
  if (c.state === PeerState.CONNECTED) {
    detail =
      c.rttMs === 0 && c.bitrateIn === 0n
        ? T("unmeasured")
        : T("numbers", { rtt: c.rttMs, loss: (c.lossFraction * 100).toFixed(1), kbps: Math.round(Number(c.bitrateIn) / 1000) });
    if (c.lastMediaMsAgo > 3000n) detail += ` · ${T("silent", { s: Math.round(Number(c.lastMediaMsAgo) / 1000) })}`;
  }
  return { state: peerStateName(c.state), quality: q, detail };
}
