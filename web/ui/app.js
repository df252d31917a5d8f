// OpenCourt in the browser: invited participants join from a link (#/join/CODE), staff sign in
// and preside. Everything goes through the same gRPC API as every other client, as grpc-web
// (unary calls and server streams over fetch), and media through the same WebRTC path as
// `opencourt bot`. No build step and no third-party code: the few messages the page needs are
// encoded and decoded by the small protobuf codec below, from `proto/court/v1/*.proto`.
"use strict";

// ---- protobuf: field number -> [name, type, message spec for "msg", repeated] -------------

const S = {};
S.User = { 1: ["id", "string"], 2: ["username", "string"], 3: ["display_name", "string"], 4: ["role", "enum"] };
S.Participant = {
  1: ["id", "string"], 2: ["hearing_id", "string"], 3: ["display_name", "string"], 4: ["role", "enum"],
  5: ["presence", "enum"], 6: ["muted", "bool"], 7: ["user_id", "string"],
};
S.Hearing = {
  1: ["id", "string"], 2: ["case_id", "string"], 3: ["title", "string"], 6: ["state", "enum"],
  7: ["presiding_judge_id", "string"], 8: ["presiding_participant_id", "string"],
  9: ["participants", "msg", S.Participant, true], 11: ["last_seq", "uint"],
};
S.LoginRequest = { 1: ["username", "string"], 2: ["password", "string"] };
S.LoginResponse = { 1: ["token", "string"], 2: ["user", "msg", S.User] };
S.RedeemInviteRequest = { 1: ["code", "string"] };
S.RedeemInviteResponse = { 1: ["token", "string"], 2: ["participant", "msg", S.Participant] };
S.HearingRequest = { 1: ["hearing_id", "string"] };
S.ReasonRequest = { 1: ["hearing_id", "string"], 2: ["reason", "string"] };
S.ParticipantRequest = { 1: ["hearing_id", "string"], 2: ["participant_id", "string"] };
S.MuteRequest = { 1: ["hearing_id", "string"], 2: ["participant_id", "string"], 3: ["muted", "bool"] };
S.ReasonedParticipantRequest = { 1: ["hearing_id", "string"], 2: ["participant_id", "string"], 3: ["reason", "string"] };
S.ListHearingsRequest = { 1: ["case_id", "string"], 2: ["day", "string"], 3: ["judge_id", "string"], 4: ["page_size", "uint"] };
S.ListHearingsResponse = { 1: ["hearings", "msg", S.Hearing, true] };
S.WatchHearingRequest = { 1: ["hearing_id", "string"], 2: ["after_seq", "uint"] };
S.Actor = { 1: ["participant_id", "string"], 2: ["user_id", "string"], 3: ["role", "enum"], 4: ["display_name", "string"] };
S.StateChanged = { 1: ["from", "enum"], 2: ["to", "enum"], 3: ["reason", "string"] };
S.ParticipantRef = { 1: ["participant_id", "string"], 2: ["reason", "string"] };
S.ParticipantJoined = { 1: ["participant_id", "string"], 2: ["presence", "enum"] };
S.ParticipantLeft = { 1: ["participant_id", "string"], 2: ["reason", "string"], 3: ["disconnected", "bool"] };
S.ParticipantMuted = { 1: ["participant_id", "string"], 2: ["muted", "bool"] };
S.ParticipantInvited = { 1: ["participant_id", "string"], 2: ["display_name", "string"], 3: ["role", "enum"] };
S.Caption = { 1: ["participant_id", "string"], 2: ["speaker", "string"], 3: ["start_ms", "uint"], 4: ["end_ms", "uint"], 5: ["text", "string"] };
S.HearingEvent = {
  1: ["hearing_id", "string"], 2: ["seq", "uint"], 3: ["clock_ms", "int"], 5: ["actor", "msg", S.Actor],
  11: ["invited", "msg", S.ParticipantInvited], 13: ["state_changed", "msg", S.StateChanged],
  14: ["joined", "msg", S.ParticipantJoined], 15: ["left", "msg", S.ParticipantLeft],
  16: ["admitted", "msg", S.ParticipantRef], 17: ["stood_down", "msg", S.ParticipantRef],
  18: ["removed", "msg", S.ParticipantRef], 19: ["muted", "msg", S.ParticipantMuted],
  25: ["caption", "msg", S.Caption],
};
S.OfferRequest = { 1: ["hearing_id", "string"], 2: ["sdp", "string"] };
S.OfferResponse = { 1: ["sdp", "string"], 2: ["session_id", "string"] };
S.AddIceCandidateRequest = { 1: ["hearing_id", "string"], 2: ["mline_index", "uint"], 3: ["candidate", "string"] };
S.IceCandidate = { 1: ["mline_index", "uint"], 2: ["candidate", "string"] };
S.MediaSignal = {
  1: ["session_id", "string"], 2: ["ice_candidate", "msg", S.IceCandidate],
  3: ["closed", "msg", { 1: ["reason", "string"] }],
};
S.Case = { 1: ["id", "string"], 2: ["case_number", "string"], 3: ["title", "string"], 4: ["visibility", "enum"] };
S.ListCasesRequest = { 1: ["query", "string"], 2: ["page_size", "uint"] };
S.ListCasesResponse = { 1: ["cases", "msg", S.Case, true] };
S.MediaFile = {
  1: ["kind", "string"], 2: ["file", "string"], 3: ["participant_id", "string"], 4: ["sha256", "string"],
  5: ["size", "uint"], 6: ["duration_ms", "uint"], 7: ["start_ms", "uint"], 8: ["end_ms", "uint"],
  9: ["download_path", "string"],
};
S.HearingRecord = {
  1: ["hearing", "msg", S.Hearing], 3: ["recordings", "msg", S.MediaFile, true],
  4: ["tracks", "msg", S.MediaFile, true], 5: ["has_transcript", "bool"], 6: ["transcript_segments", "uint"],
};
S.CaseRequest = { 1: ["case_id", "string"] };
S.CaseRecord = { 1: ["case", "msg", S.Case], 2: ["hearings", "msg", S.HearingRecord, true] };
S.GetTranscriptRequest = { 1: ["hearing_id", "string"], 2: ["format", "enum"] };
S.GetTranscriptResponse = { 2: ["rendered", "string"], 3: ["content_type", "string"] };
S.SearchTranscriptsRequest = { 1: ["query", "string"], 2: ["case_id", "string"], 3: ["page_size", "uint"] };
S.SearchHit = {
  1: ["hearing_id", "string"], 2: ["case_id", "string"], 3: ["case_number", "string"], 4: ["start_ms", "uint"],
  5: ["end_ms", "uint"], 6: ["speaker", "string"], 7: ["snippet", "string"],
};
S.SearchTranscriptsResponse = { 1: ["hits", "msg", S.SearchHit, true] };
S.VerifyHearingLogResponse = {
  1: ["ok", "bool"], 2: ["events_checked", "uint"], 3: ["first_bad_seq", "uint"], 4: ["head_hash", "string"],
  5: ["problem", "string"],
};
S.Empty = {};

// The page speaks English or Chinese: `?lang=zh|en`, else the browser's language. Messages the
// server sends (refusals) stay as the server wrote them.
const LANG = (new URLSearchParams(location.search).get("lang") || navigator.language || "en")
  .toLowerCase().startsWith("zh") ? "zh" : "en";
const ZH = {
  "Join a hearing": "加入庭审", "Invitation code": "邀请码", "Join": "加入", "Court staff": "法院工作人员",
  "User name": "用户名", "Password": "密码", "Sign in": "登录", "Hearings": "庭审", "Case records": "案件记录",
  "Search transcripts": "搜索笔录", "Search": "搜索", "Transcripts found": "找到的笔录", "State:": "状态：",
  "· You:": "· 您：", "· Media:": "· 音视频：", "not connected": "未连接", "new": "新建", "connecting": "连接中",
  "connected": "已连接", "disconnected": "已断开", "failed": "连接失败", "closed": "已关闭",
  "Open the waiting room": "开放候审室", "Go on the record": "开始记录", "Go off the record": "暂停记录",
  "Adjourn": "闭庭", "Reason (going off the record, standing down, removing)": "理由（暂停记录、退庭、移出）",
  "e.g. recess": "例如：休庭", "Participants": "参与人", "Live captions": "实时字幕", "Preside": "主持",
  "Admit": "准许入庭", "Mute": "静音", "Unmute": "取消静音", "Stand down": "退庭", "Remove": "移出",
  "This hearing has ended.": "本次庭审已结束。", "Waiting for the court to open the hearing.": "等待法庭开放庭审。",
  "Give a reason first (it is written in the hearing's log).": "请先填写理由（理由会写入庭审日志）。",
  "Open the record": "打开记录", "Download": "下载", "Verify the event log": "校验事件日志", "Read": "阅读",
  "No transcript yet.": "尚无笔录。", "Case record": "案件记录", "Nothing found.": "未找到。",
  "file": "文件", "who": "人员", "on the hearing clock": "庭审时间", "length": "时长",
  "Recordings": "录像", "Each participant's own audio": "各参与人的音频", "Transcript": "笔录",
  "segments": "段", "verified": "校验通过", "events": "个事件", "head": "末尾", "NOT verified at event": "校验失败，事件",
};
function t(text) { return LANG === "zh" && ZH[text] !== undefined ? ZH[text] : text; }

const ROLES = LANG === "zh"
  ? ["未指定", "法官", "书记员", "检察官", "律师", "当事人", "证人", "鉴定人", "翻译", "旁听", "管理员", "系统"]
  : ["unspecified", "judge", "clerk", "prosecutor", "counsel", "party", "witness", "expert", "interpreter",
    "observer", "admin", "system"];
const STATES = LANG === "zh"
  ? ["未指定", "已排期", "已开放", "正在记录", "暂停记录", "已闭庭", "已取消"]
  : ["unspecified", "scheduled", "open", "on the record", "off the record", "adjourned", "cancelled"];
const PRESENCE = LANG === "zh"
  ? ["未指定", "已邀请", "候审中", "已入庭", "已离开", "已移出", "已断开"]
  : ["unspecified", "invited", "waiting", "admitted", "left", "removed", "disconnected"];

// The static page's words, and its placeholders, in the page's language.
function translatePage() {
  document.documentElement.lang = LANG === "zh" ? "zh-CN" : "en";
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    const text = n.nodeValue.trim();
    if (text && t(text) !== text) n.nodeValue = n.nodeValue.replace(text, t(text));
  }
  for (const input of document.querySelectorAll("input[placeholder]")) input.placeholder = t(input.placeholder);
  const other = LANG === "zh" ? "en" : "zh";
  const link = $("lang-switch");
  link.textContent = other === "zh" ? "中文" : "English";
  link.href = `?lang=${other}${location.hash}`;
}
const PRESENCE_WAITING = 2;
const PRESENCE_ADMITTED = 3;
const STATE = { OPEN: 2, ON_RECORD: 3, OFF_RECORD: 4, ADJOURNED: 5, CANCELLED: 6 };
const ROLE = { JUDGE: 1, CLERK: 2, ADMIN: 10 };

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

function varint(out, n) {
  // Numbers up to 2^53: enough for every integer these messages carry.
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
}

function encode(spec, msg) {
  const out = [];
  for (const [no, [name, type, sub, repeated]] of Object.entries(spec)) {
    const values = repeated ? (msg[name] || []) : [msg[name]];
    for (const v of values) {
      if (v === undefined || v === null || v === "" || v === 0 || v === false) continue;
      if (type === "string" || type === "msg") {
        const bytes = type === "string" ? utf8.encode(v) : encode(sub, v);
        varint(out, (Number(no) << 3) | 2);
        varint(out, bytes.length);
        for (const b of bytes) out.push(b);
      } else {
        varint(out, Number(no) << 3);
        varint(out, type === "bool" ? 1 : v);
      }
    }
  }
  return Uint8Array.from(out);
}

function decode(spec, bytes) {
  const msg = {};
  for (const [name, , , repeated] of Object.values(spec)) if (repeated) msg[name] = [];
  let i = 0;
  const readVarint = () => {
    let n = 0, mul = 1, b;
    do {
      if (i >= bytes.length) throw new Error("truncated message");
      b = bytes[i++];
      n += (b & 0x7f) * mul;
      mul *= 0x80;
    } while (b & 0x80);
    return n;
  };
  while (i < bytes.length) {
    const key = readVarint();
    const no = Math.floor(key / 8), wire = key % 8;
    const field = spec[no];
    let value;
    if (wire === 0) value = readVarint();
    else if (wire === 2) {
      const len = readVarint();
      value = bytes.subarray(i, i + len);
      i += len;
    } else if (wire === 1) { i += 8; continue; }
    else if (wire === 5) { i += 4; continue; }
    else throw new Error("unsupported wire type " + wire);
    if (!field) continue;
    const [name, type, sub, repeated] = field;
    // A field whose wire type is not the one its type needs is another message's: skip it.
    if ((wire === 2) !== (type === "string" || type === "msg")) continue;
    if (type === "string") value = fromUtf8.decode(value);
    else if (type === "msg") value = decode(sub, value);
    else if (type === "bool") value = value !== 0;
    else if (type === "int" && value >= 2 ** 63) value -= 2 ** 64;
    if (repeated) msg[name].push(value);
    else msg[name] = value;
  }
  return msg;
}

// ---- grpc-web -----------------------------------------------------------------------------

let token = "";

function frame(bytes) {
  const out = new Uint8Array(5 + bytes.length);
  new DataView(out.buffer).setUint32(1, bytes.length);
  out.set(bytes, 5);
  return out;
}

function headers() {
  const h = { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" };
  if (token) h.authorization = "Bearer " + token;
  return h;
}

class GrpcError extends Error {
  constructor(code, message) {
    super(message || "gRPC status " + code);
    this.code = code;
  }
}

function statusOf(text) {
  const fields = {};
  for (const line of text.split("\r\n")) {
    const at = line.indexOf(":");
    if (at > 0) fields[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
  }
  return fields;
}

// Reads grpc-web frames from a fetch response, calling onMessage for each message; resolves when
// the trailers say OK, rejects with the status otherwise.
async function readFrames(res, onMessage) {
  const headerStatus = res.headers.get("grpc-status");
  if (headerStatus !== null && headerStatus !== "0") {
    throw new GrpcError(Number(headerStatus), decodeURIComponent(res.headers.get("grpc-message") || ""));
  }
  if (!res.ok) throw new GrpcError(14, "HTTP " + res.status);
  const reader = res.body.getReader();
  let buf = new Uint8Array(0);
  for (;;) {
    while (buf.length >= 5) {
      const len = new DataView(buf.buffer, buf.byteOffset).getUint32(1);
      if (buf.length < 5 + len) break;
      const flag = buf[0], body = buf.slice(5, 5 + len);
      buf = buf.slice(5 + len);
      if (flag & 0x80) {
        const t = statusOf(fromUtf8.decode(body));
        if ((t["grpc-status"] || "0") !== "0") {
          throw new GrpcError(Number(t["grpc-status"]), decodeURIComponent(t["grpc-message"] || ""));
        }
        return;
      }
      onMessage(body);
    }
    const { value, done } = await reader.read();
    if (done) {
      if (headerStatus === "0") return;
      throw new GrpcError(14, "the stream ended without a status");
    }
    const joined = new Uint8Array(buf.length + value.length);
    joined.set(buf);
    joined.set(value, buf.length);
    buf = joined;
  }
}

async function unary(method, reqSpec, req, resSpec) {
  const res = await fetch("/court.v1." + method, {
    method: "POST", headers: headers(), body: frame(encode(reqSpec, req)),
  });
  let reply = null;
  await readFrames(res, (body) => { reply = decode(resSpec, body); });
  if (reply === null) reply = decode(resSpec, new Uint8Array(0));
  return reply;
}

// A server stream; returns an AbortController that ends it.
function stream(method, reqSpec, req, resSpec, onMessage, onEnd) {
  const abort = new AbortController();
  fetch("/court.v1." + method, {
    method: "POST", headers: headers(), body: frame(encode(reqSpec, req)), signal: abort.signal,
  })
    .then((res) => readFrames(res, (body) => onMessage(decode(resSpec, body))))
    .then(() => onEnd && onEnd(null), (e) => onEnd && !abort.signal.aborted && onEnd(e));
  return abort;
}

// ---- the page -----------------------------------------------------------------------------

const $ = (id) => document.getElementById(id);
const app = {
  me: null, user: null, hearingId: "", hearing: null, joining: false, pc: null, session: "", watch: null, media: null,
};

function status(text) { $("status").textContent = text || ""; }
function show(section) {
  for (const id of ["signin", "hearings", "hearing", "cases", "search"]) $(id).hidden = id !== section;
  $("staff-nav").hidden = !isStaff();
}
function isStaff() { return app.user && [ROLE.JUDGE, ROLE.CLERK, ROLE.ADMIN].includes(app.user.role); }

// A code works once: the token it gave is kept for this tab, so a reload (or a dropped
// connection) rejoins as the same participant instead of failing on a spent code.
async function joinByInvite(code) {
  code = code.trim();
  const key = "opencourt-invite:" + code;
  let saved = JSON.parse(sessionStorage.getItem(key) || "null");
  if (!saved) {
    const r = await unary("AuthService/RedeemInvite", S.RedeemInviteRequest, { code }, S.RedeemInviteResponse);
    saved = { token: r.token, hearing_id: r.participant.hearing_id };
    sessionStorage.setItem(key, JSON.stringify(saved));
  }
  token = saved.token;
  await enterHearing(saved.hearing_id);
}

async function signIn(username, password) {
  const r = await unary("AuthService/Login", S.LoginRequest, { username, password }, S.LoginResponse);
  token = r.token;
  app.user = r.user;
  $("who").textContent = `${r.user.display_name} (${ROLES[r.user.role]})`;
  await listHearings();
}

async function listHearings() {
  const r = await unary("HearingService/ListHearings", S.ListHearingsRequest, { page_size: 100 }, S.ListHearingsResponse);
  const list = $("hearing-list");
  list.replaceChildren();
  for (const h of r.hearings) {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.textContent = t("Preside");
    b.dataset.hearing = h.id;
    b.onclick = () => enterHearing(h.id).catch((e) => status(e.message));
    li.append(`${h.title} — ${STATES[h.state || 0]} `, b);
    list.append(li);
  }
  show("hearings");
}

async function enterHearing(hearingId) {
  app.hearingId = hearingId;
  show("hearing");
  $("controls").hidden = !isStaff();
  followHearing(hearingId);
  await refreshHearing(hearingId);
}

// Joins (and connects media) once the hearing is open: an invitee may follow a link before the
// judge opens the waiting room, and a judge opens it from this page.
async function joinWhenOpen() {
  const h = app.hearing;
  const open = [STATE.OPEN, STATE.ON_RECORD, STATE.OFF_RECORD].includes(h.state);
  if (app.me || app.joining || !open) {
    if (!open && !app.me) status(h.state === STATE.ADJOURNED || h.state === STATE.CANCELLED
      ? t("This hearing has ended.") : t("Waiting for the court to open the hearing."));
    return;
  }
  app.joining = true;
  try {
    app.me = await unary("HearingService/JoinHearing", S.HearingRequest, { hearing_id: h.id }, S.Participant);
    status("");
    $("who").textContent = `${app.me.display_name} (${ROLES[app.me.role]})`;
    await refreshHearing(h.id);
    await connectMedia(h.id);
  } finally {
    app.joining = false;
  }
}

async function refreshHearing(hearingId) {
  const h = await unary("HearingService/GetHearing", S.HearingRequest, { hearing_id: hearingId }, S.Hearing);
  app.hearing = h;
  $("hearing-title").textContent = h.title;
  $("hearing-state").textContent = STATES[h.state || 0];
  const roster = $("roster");
  roster.replaceChildren();
  for (const p of h.participants) {
    if (app.me && p.id === app.me.id) $("my-presence").textContent = PRESENCE[p.presence || 0];
    const li = document.createElement("li");
    li.dataset.participant = p.id;
    const presence = document.createElement("span");
    presence.className = "presence";
    presence.textContent = ` ${PRESENCE[p.presence || 0]}`;
    li.append(`${p.display_name} (${ROLES[p.role || 0]})`, presence);
    if (p.muted) presence.textContent += ", muted";
    if (isStaff() && (!app.me || p.id !== app.me.id)) {
      const button = (label, cls, onclick) => {
        const b = el("button", label, { className: cls, onclick });
        li.append(" ", b);
      };
      const who = { participant_id: p.id };
      if (p.presence === PRESENCE_WAITING) button(t("Admit"), "admit", () => act("AdmitParticipant", S.ParticipantRequest, who));
      if (p.presence === PRESENCE_ADMITTED) {
        button(t(p.muted ? "Unmute" : "Mute"), "mute",
          () => act("MuteParticipant", S.MuteRequest, { ...who, muted: !p.muted }));
        button(t("Stand down"), "stand-down", () => withReason("StandDownParticipant", who));
      }
      if ([PRESENCE_WAITING, PRESENCE_ADMITTED].includes(p.presence)) {
        button(t("Remove"), "remove", () => withReason("RemoveParticipant", who));
      }
    }
    roster.append(li);
  }
  await joinWhenOpen();
}

function followHearing(hearingId) {
  if (app.watch) app.watch.abort();
  let last = 0;
  const follow = () => {
    app.watch = stream("HearingService/WatchHearing", S.WatchHearingRequest, { hearing_id: hearingId, after_seq: last },
      S.HearingEvent, (e) => {
        last = Math.max(last, e.seq || 0);
        if (e.caption) {
          const li = document.createElement("li");
          li.textContent = `${e.caption.speaker}: ${e.caption.text}`;
          $("captions").append(li);
          li.scrollIntoView({ block: "nearest" });
        } else {
          refreshHearing(hearingId).catch((err) => status(err.message));
        }
      }, (err) => {
        if (err) {
          status("lost the hearing's events (" + err.message + "), reconnecting");
          setTimeout(follow, 2000);
        }
      });
  };
  follow();
}

// Actions the log keeps a reason for take it from the reason field.
function withReason(method, fields) {
  const reason = $("reason").value.trim();
  if (!reason) {
    status(t("Give a reason first (it is written in the hearing's log)."));
    return;
  }
  const spec = method === "GoOffRecord" ? S.ReasonRequest : S.ReasonedParticipantRequest;
  act(method, spec, { ...fields, reason }).then((done) => { if (done) $("reason").value = ""; });
}

// One of the presiding actions; the server's refusal, if any, is shown. True if it was done.
async function act(method, spec, fields) {
  status("");
  try {
    await unary("HearingService/" + method, spec, { hearing_id: app.hearingId, ...fields }, S.Empty);
    await refreshHearing(app.hearingId);
    return true;
  } catch (e) {
    status(e.message);
    return false;
  }
}

// Opus and VP8 to the hearing's room; the courtroom view and the mix without our own voice back.
async function connectMedia(hearingId) {
  const local = await navigator.mediaDevices.getUserMedia({
    // Echo cancellation stays on: without it a participant on loudspeakers sends everyone else's
    // voice back on their own track, and the transcript would put those words under their name.
    // Noise suppression and gain control distort the speech the record and transcript get.
    audio: { echoCancellation: true, noiseSuppression: false, autoGainControl: false },
    video: { width: 640, height: 360 },
  });
  const config = await fetch("/ui/config.json").then((r) => r.json());
  const pc = new RTCPeerConnection({ iceServers: config.iceServers || [] });
  app.pc = pc;
  for (const track of local.getTracks()) pc.addTrack(track, local);
  const remote = new MediaStream();
  pc.ontrack = (e) => {
    remote.addTrack(e.track);
    $("courtroom").srcObject = remote;
  };
  pc.onconnectionstatechange = () => { $("media-state").textContent = t(pc.connectionState); };
  const pending = [];
  let answered = false;
  const addRemote = (c) => pc.addIceCandidate({ candidate: c.candidate, sdpMLineIndex: c.mline_index || 0 })
    .catch((e) => status("ICE: " + e.message));
  app.media = stream("MediaService/WatchMedia", S.HearingRequest, { hearing_id: hearingId }, S.MediaSignal, (s) => {
    if (s.closed) {
      if (s.session_id === app.session) $("media-state").textContent = "closed: " + s.closed.reason;
      return;
    }
    if (!s.ice_candidate || !s.ice_candidate.candidate) return;
    if (!answered) pending.push(s);
    else if (s.session_id === app.session) addRemote(s.ice_candidate);
  });
  // Our candidates go to the connection the answer creates: held until it exists.
  const ours = [];
  const sendOurs = (c) => unary("MediaService/AddIceCandidate", S.AddIceCandidateRequest,
    { hearing_id: hearingId, mline_index: c ? c.sdpMLineIndex : 0, candidate: c ? c.candidate : "" }, S.Empty)
    .catch((err) => status("ICE: " + err.message));
  pc.onicecandidate = (e) => {
    if (answered) sendOurs(e.candidate);
    else ours.push(e.candidate);
  };
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  const answer = await unary("MediaService/Offer", S.OfferRequest, { hearing_id: hearingId, sdp: offer.sdp }, S.OfferResponse);
  app.session = answer.session_id;
  await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
  answered = true;
  for (const c of ours.splice(0)) sendOurs(c);
  for (const s of pending.splice(0)) if (s.session_id === app.session) addRemote(s.ice_candidate);
}

// ---- the case record: recordings, tracks and transcripts, for staff ----------------------

const TRANSCRIPT_FORMATS = { json: 1, vtt: 2, srt: 3, txt: 4 };

function clock(ms) {
  const s = Math.floor((ms || 0) / 1000);
  const pad = (n) => String(n).padStart(2, "0");
  return `${Math.floor(s / 3600)}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}`;
}

function el(tag, text, attrs) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  Object.assign(e, attrs || {});
  return e;
}

// Saves `blob` as a file the way a link with `download` does.
function save(blob, name) {
  const a = el("a", "", { href: URL.createObjectURL(blob), download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 60000);
}

async function listCases() {
  const r = await unary("CaseService/ListCases", S.ListCasesRequest, { page_size: 100 }, S.ListCasesResponse);
  const list = $("case-list");
  list.replaceChildren();
  for (const c of r.cases) {
    const b = el("button", t("Open the record"), { className: "open-record" });
    b.dataset.case = c.id;
    b.onclick = () => showCaseRecord(c.id).catch((e) => status(e.message));
    const li = el("li", `${c.case_number} ${c.title} `);
    li.append(b);
    list.append(li);
  }
  $("case-record").replaceChildren();
  show("cases");
}

function mediaTable(files, names) {
  const table = el("table");
  table.append(el("tr"));
  for (const h of ["file", "who", "on the hearing clock", "length", "SHA-256", ""]) table.rows[0].append(el("th", t(h)));
  for (const f of files) {
    const tr = el("tr");
    const get = el("button", t("Download"), { className: "download" });
    get.dataset.path = f.download_path;
    get.onclick = async () => {
      try {
        const res = await fetch(f.download_path, { headers: { authorization: "Bearer " + token } });
        if (!res.ok) throw new Error(`${f.file}: HTTP ${res.status}`);
        save(await res.blob(), f.file);
      } catch (e) {
        status(e.message);
      }
    };
    tr.append(el("td", f.file), el("td", names[f.participant_id] || ""),
      el("td", `${clock(f.start_ms)}–${clock(f.end_ms)}`), el("td", clock(f.duration_ms)),
      el("td", (f.sha256 || "").slice(0, 16) + "…", { title: f.sha256 || "" }));
    const cell = el("td");
    cell.append(get);
    tr.append(cell);
    table.append(tr);
  }
  return table;
}

async function showCaseRecord(caseId) {
  const r = await unary("CaseService/GetCaseRecord", S.CaseRequest, { case_id: caseId }, S.CaseRecord);
  const box = $("case-record");
  box.replaceChildren(el("h3", `${r.case.case_number} ${r.case.title}`));
  for (const hr of r.hearings) {
    const h = hr.hearing;
    const names = {};
    for (const p of h.participants) names[p.id] = `${p.display_name} (${ROLES[p.role || 0]})`;
    const div = el("div", "", { className: "hearing-record" });
    div.dataset.hearing = h.id;
    div.append(el("h4", `${h.title} — ${STATES[h.state || 0]}`));
    const verify = el("button", t("Verify the event log"), { className: "verify" });
    const verdict = el("span", "", { className: "verdict" });
    verify.onclick = async () => {
      try {
        const v = await unary("HearingService/VerifyHearingLog", S.HearingRequest, { hearing_id: h.id }, S.VerifyHearingLogResponse);
        verdict.textContent = v.ok
          ? ` ${t("verified")}: ${v.events_checked} ${t("events")}, ${t("head")} ${(v.head_hash || "").slice(0, 16)}…`
          : ` ${t("NOT verified at event")} ${v.first_bad_seq}: ${v.problem}`;
      } catch (e) {
        status(e.message);
      }
    };
    div.append(verify, verdict);
    div.append(el("h5", `${t("Recordings")} (${hr.recordings.length})`), mediaTable(hr.recordings, names));
    div.append(el("h5", `${t("Each participant's own audio")} (${hr.tracks.length})`), mediaTable(hr.tracks, names));
    if (hr.has_transcript) {
      div.append(el("h5", `${t("Transcript")} (${hr.transcript_segments} ${t("segments")})`));
      const text = el("div", "", { className: "transcript" });
      const read = el("button", t("Read"), { className: "read-transcript" });
      read.onclick = async () => {
        try {
          text.textContent = (await transcript(h.id, "txt")).rendered;
        } catch (e) {
          status(e.message);
        }
      };
      div.append(read);
      for (const fmt of ["vtt", "srt", "txt", "json"]) {
        const b = el("button", fmt.toUpperCase());
        b.onclick = async () => {
          try {
            const t = await transcript(h.id, fmt);
            save(new Blob([t.rendered], { type: t.content_type }), `transcript-${h.id}.${fmt}`);
          } catch (e) {
            status(e.message);
          }
        };
        div.append(" ", b);
      }
      div.append(text);
    } else {
      div.append(el("p", t("No transcript yet.")));
    }
    box.append(div);
  }
}

function transcript(hearingId, fmt) {
  return unary("RecordService/GetTranscript", S.GetTranscriptRequest,
    { hearing_id: hearingId, format: TRANSCRIPT_FORMATS[fmt] }, S.GetTranscriptResponse);
}

async function search(query) {
  const r = await unary("RecordService/SearchTranscripts", S.SearchTranscriptsRequest,
    { query, page_size: 50 }, S.SearchTranscriptsResponse);
  const list = $("search-hits");
  list.replaceChildren();
  for (const h of r.hits) {
    const li = el("li", "", { className: "hit" });
    li.append(el("span", `${h.case_number} ${clock(h.start_ms)} `), el("span", h.speaker, { className: "hit-speaker" }),
      el("span", `: ${h.snippet}`));
    const open = el("button", t("Case record"));
    open.onclick = () => showCaseRecord(h.case_id).then(() => show("cases")).catch((e) => status(e.message));
    li.append(" ", open);
    list.append(li);
  }
  if (!r.hits.length) list.append(el("li", t("Nothing found.")));
  show("search");
}

function wire() {
  translatePage();
  $("invite-form").onsubmit = (e) => {
    e.preventDefault();
    joinByInvite($("invite-code").value).catch((err) => status(err.message));
  };
  $("login-form").onsubmit = (e) => {
    e.preventDefault();
    signIn($("username").value, $("password").value).catch((err) => status(err.message));
  };
  $("nav-hearings").onclick = () => listHearings().catch((err) => status(err.message));
  $("nav-cases").onclick = () => listCases().catch((err) => status(err.message));
  $("search-form").onsubmit = (e) => {
    e.preventDefault();
    search($("search-query").value.trim()).catch((err) => status(err.message));
  };
  $("open-btn").onclick = () => act("OpenHearing", S.HearingRequest, {});
  $("on-record-btn").onclick = () => act("GoOnRecord", S.HearingRequest, {});
  $("off-record-btn").onclick = () => withReason("GoOffRecord", {});
  $("adjourn-btn").onclick = () => act("AdjournHearing", S.ReasonRequest, { reason: "adjourned" });
  // An invitation link: #/join/CODE.
  const m = location.hash.match(/^#\/join\/([^/]+)$/);
  if (m) joinByInvite(decodeURIComponent(m[1])).catch((err) => status(err.message));
}

wire();
