// The hearing's log in words, for the court: one line per event (hearing clock, who, what). The
// switch over the event's payload is exhaustive: a new event type in proto/ fails the type-check
// here until the page says what it means.
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { HearingEvent } from "../gen/court/v1/common_pb";
import { HearingState, Presence, Role } from "../gen/court/v1/common_pb";
import { h } from "../dom";
import { clock, roleName, stateName, strings, when } from "../i18n";
import type { HearingLive } from "../hearing-live";

const T = strings(
  {
    scheduled: "Hearing scheduled for {when}",
    invited: "{name} invited as {role}",
    redeemed: "{name} opened their invitation",
    opened: "Waiting room opened",
    onRecord: "Went on the record",
    offRecord: "Went off the record: {reason}",
    adjourned: "Hearing adjourned",
    adjournedWhy: "Hearing adjourned: {reason}",
    cancelled: "Hearing cancelled: {reason}",
    state: "State changed from {from} to {to}",
    arrived: "{name} arrived in the waiting room",
    joined: "{name} joined the hearing",
    left: "{name} left",
    leftWhy: "{name} left: {reason}",
    dropped: "{name}'s connection was lost",
    droppedWhy: "{name}'s connection was lost: {reason}",
    admitted: "{name} was admitted",
    stoodDown: "{name} was stood down",
    stoodDownWhy: "{name} was stood down: {reason}",
    removed: "{name} was removed: {reason}",
    muted: "{name} was muted",
    unmuted: "{name} was unmuted",
    note: "Note: {text}",
    denied: "Refused: {action} ({reason})",
    fileClosed: "Recording file closed: {file} ({seconds} s)",
    gap: "Nothing recorded from {from} to {to}: {reason}",
    trackGap: "Nothing of {name} recorded from {from} to {to}: {reason}",
    transcript: "Transcript stored ({segments} segments)",
    caption: "{speaker}: “{text}”",
    stalled: "No media from {name} since {at}",
    resumed: "Media from {name} again from {at}",
    fault: "Recording file {file} failed: {message}",
    reissued: "New invitation link issued for {name}",
    locked: "Room locked",
    lockedWhy: "Room locked: {reason}",
    unlocked: "Room unlocked",
    message: "Message to the waiting room: “{text}”",
    unknown: "An entry this page does not know",
    someone: "a participant",
    staff: "a member of staff",
    system: "OpenCourt",
  },
  {
    scheduled: "已排期，开庭时间 {when}",
    invited: "已邀请 {name}，身份：{role}",
    redeemed: "{name} 打开了邀请链接",
    opened: "候庭室已开放",
    onRecord: "开始记录",
    offRecord: "暂停记录：{reason}",
    adjourned: "已闭庭",
    adjournedWhy: "已闭庭：{reason}",
    cancelled: "庭审已取消：{reason}",
    state: "状态由 {from} 变为 {to}",
    arrived: "{name} 进入候庭室",
    joined: "{name} 进入庭审",
    left: "{name} 已离开",
    leftWhy: "{name} 已离开：{reason}",
    dropped: "{name} 的连接中断",
    droppedWhy: "{name} 的连接中断：{reason}",
    admitted: "{name} 已获准入庭",
    stoodDown: "{name} 已退庭",
    stoodDownWhy: "{name} 已退庭：{reason}",
    removed: "{name} 已被移出：{reason}",
    muted: "{name} 已被静音",
    unmuted: "{name} 已取消静音",
    note: "笔录：{text}",
    denied: "已拒绝：{action}（{reason}）",
    fileClosed: "录音录像文件已封存：{file}（{seconds} 秒）",
    gap: "{from} 至 {to} 未录制：{reason}",
    trackGap: "{from} 至 {to} 未录制 {name} 的音频：{reason}",
    transcript: "笔录文本已保存（{segments} 段）",
    caption: "{speaker}：“{text}”",
    stalled: "自 {at} 起未收到 {name} 的音视频",
    resumed: "自 {at} 起重新收到 {name} 的音视频",
    fault: "录制文件 {file} 写入失败：{message}",
    reissued: "已为 {name} 重新签发邀请链接",
    locked: "法庭已锁定",
    lockedWhy: "法庭已锁定：{reason}",
    unlocked: "法庭已解锁",
    message: "向候庭室发送消息：“{text}”",
    unknown: "本页面无法识别的记录",
    someone: "某位参与人",
    staff: "某位工作人员",
    system: "系统",
  },
);

/** A participant's (or staff member's) name as the court knows it, from the hearing and its log. */
export function nameOf(live: HearingLive, participantId: string, mediaId = ""): string {
  const hearing = live.hearing;
  const p = hearing?.participants.find((x) => x.id === participantId);
  if (p) return p.displayName;
  for (const ev of live.events) {
    if (ev.payload.case === "invited" && ev.payload.value.participantId === participantId) return ev.payload.value.displayName;
  }
  if (!participantId && mediaId && hearing) {
    if (mediaId === hearing.presidingJudgeId && hearing.presidingJudgeName) return hearing.presidingJudgeName;
    const staff = hearing.participants.find((x) => x.userId === mediaId);
    if (staff) return staff.displayName;
    return T("staff");
  }
  return T("someone");
}

/** Who caused the event, in words. */
export function actorOf(ev: HearingEvent): string {
  const a = ev.actor;
  if (!a || a.role === Role.SYSTEM) return T("system");
  return a.displayName || roleName(a.role);
}

/** What the event says, in words; `quiet` for the routine (files closed, captions), which the
 *  timeline shows only when asked. */
export function describe(ev: HearingEvent, live: HearingLive): { text: string; quiet: boolean } {
  const say = (text: string, quiet = false) => ({ text, quiet });
  const name = (pid: string, mediaId = "") => nameOf(live, pid, mediaId);
  const p = ev.payload;
  switch (p.case) {
    case "scheduled":
      return say(T("scheduled", { when: when(p.value.startsAt && timestampDate(p.value.startsAt)) }));
    case "invited":
      return say(T("invited", { name: p.value.displayName, role: roleName(p.value.role) }));
    case "inviteRedeemed":
      return say(T("redeemed", { name: name(p.value.participantId) }));
    case "stateChanged": {
      const { from, to, reason } = p.value;
      switch (to) {
        case HearingState.OPEN:
          return say(T("opened"));
        case HearingState.ON_RECORD:
          return say(T("onRecord"));
        case HearingState.OFF_RECORD:
          return say(T("offRecord", { reason }));
        case HearingState.ADJOURNED:
          return say(reason ? T("adjournedWhy", { reason }) : T("adjourned"));
        case HearingState.CANCELLED:
          return say(T("cancelled", { reason }));
        default:
          return say(T("state", { from: stateName(from), to: stateName(to) }));
      }
    }
    case "joined":
      return say(T(p.value.presence === Presence.WAITING ? "arrived" : "joined", { name: name(p.value.participantId) }));
    case "left": {
      const { reason, disconnected } = p.value;
      const key = disconnected ? (reason ? "droppedWhy" : "dropped") : reason ? "leftWhy" : "left";
      return say(T(key, { name: name(p.value.participantId), reason }));
    }
    case "admitted":
      return say(T("admitted", { name: name(p.value.participantId) }));
    case "stoodDown":
      return say(T(p.value.reason ? "stoodDownWhy" : "stoodDown", { name: name(p.value.participantId), reason: p.value.reason }));
    case "removed":
      return say(T("removed", { name: name(p.value.participantId), reason: p.value.reason }));
    case "muted":
      return say(T(p.value.muted ? "muted" : "unmuted", { name: name(p.value.participantId) }));
    case "note":
      return say(T("note", { text: p.value.text }));
    case "denied":
      return say(T("denied", { action: p.value.action, reason: p.value.reason }));
    case "mediaClosed":
      return say(T("fileClosed", { file: p.value.file, seconds: Math.round(Number(p.value.durationMs) / 1000) }), true);
    case "recordingGap": {
      const g = p.value;
      const span = { from: clock(g.fromMs), to: clock(g.toMs), reason: g.reason };
      return say(g.participantId ? T("trackGap", { ...span, name: name(g.participantId) }) : T("gap", span));
    }
    case "transcriptStored":
      return say(T("transcript", { segments: Number(p.value.segments) }));
    case "caption":
      return say(T("caption", { speaker: p.value.speaker || name(p.value.participantId), text: p.value.text }), true);
    case "mediaStalled":
      return say(T("stalled", { name: name(p.value.participantId, p.value.mediaId), at: clock(p.value.sinceMs) }));
    case "mediaResumed":
      return say(T("resumed", { name: name(p.value.participantId, p.value.mediaId), at: clock(p.value.atMs) }));
    case "recordingFault":
      return say(T("fault", { file: p.value.file, message: p.value.message }));
    case "inviteReissued":
      return say(T("reissued", { name: name(p.value.participantId) }));
    case "roomLocked":
      return say(p.value.locked ? (p.value.reason ? T("lockedWhy", { reason: p.value.reason }) : T("locked")) : T("unlocked"));
    case "waitingRoomMessage":
      return say(T("message", { text: p.value.text }));
    case undefined:
      return say(T("unknown"), true);
    default: {
      const unhandled: never = p;
      return say(T("unknown") + String((unhandled as { case: string }).case));
    }
  }
}

/** One timeline line: hearing clock, who, what. */
export function timelineItem(ev: HearingEvent, live: HearingLive): HTMLElement | null {
  const { text } = describe(ev, live);
  return h(
    "li",
    { "data-seq": String(ev.seq), "data-kind": ev.payload.case ?? "" },
    h("time", {}, clock(ev.clockMs)),
    h("strong", {}, actorOf(ev)),
    " — ",
    text,
  );
}
