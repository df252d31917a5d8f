// A case's record (`#/case/ID`, GetCaseRecord): each hearing with its state and time, the check
// of its event log (VerifyHearingLog, in words), its recordings and each participant's own audio
// (hash, length, download with the caller's token), and its transcript (read, or download in
// each format GetTranscript renders).
import { api, attempt, isStaff, refusal, session } from "../api";
import type { HearingRecord, MediaFile } from "../gen/court/v1/case_pb";
import { TranscriptFormat } from "../gen/court/v1/record_pb";
import { busy, button, clear, empty, h, loading, notice, title } from "../dom";
import { clock, roleName, strings } from "../i18n";
import { go } from "../nav";
import { hearingActions, hearingTime, stateTag } from "./docket-common";
import { visibilityName } from "./cases";

const T = strings(
  {
    back: "All case records",
    caption: "Case record",
    loading: "Loading the case record…",
    cannotLoad: "The case record could not be loaded",
    noHearings: "This case has no hearings yet.",
    verify: "Verify the event log",
    verifyFor: "Verify the event log of {title}",
    verified: "The log is intact: {n} events checked, each linked to the one before. Last hash {hash}…",
    broken: "The log is NOT intact: event {seq} is missing, altered or out of place. {problem}",
    recordings: "Recordings",
    tracks: "Each participant's own audio",
    noFiles: "None.",
    file: "File",
    who: "Who",
    span: "On the hearing clock",
    length: "Length",
    size: "Size",
    hash: "SHA-256",
    download: "Download",
    downloadFile: "Download {file}",
    downloading: "Downloading…",
    downloadFailed: "{file} could not be downloaded.",
    transcript: "Transcript",
    segments: "{n} segments.",
    noTranscript: "No transcript yet.",
    read: "Read the transcript",
    transcriptAs: "Download the transcript as {format}",
    visibility: "Visibility: {v}",
  },
  {
    back: "全部案件记录",
    caption: "案件记录",
    loading: "正在加载案件记录…",
    cannotLoad: "无法加载案件记录",
    noHearings: "本案还没有庭审。",
    verify: "校验事件日志",
    verifyFor: "校验 {title} 的事件日志",
    verified: "日志完整：已校验 {n} 个事件，逐条与前一条相衔接。最后的哈希值 {hash}…",
    broken: "日志不完整：第 {seq} 个事件缺失、被篡改或顺序错误。{problem}",
    recordings: "录像",
    tracks: "各参与人的音频",
    noFiles: "无。",
    file: "文件",
    who: "参与人",
    span: "庭审时间",
    length: "时长",
    size: "大小",
    hash: "SHA-256",
    download: "下载",
    downloadFile: "下载 {file}",
    downloading: "正在下载…",
    downloadFailed: "{file} 下载失败。",
    transcript: "笔录",
    segments: "共 {n} 段。",
    noTranscript: "尚无笔录。",
    read: "阅读笔录",
    transcriptAs: "以 {format} 格式下载笔录",
    visibility: "公开范围：{v}",
  },
);

/** Saves `blob` as a file, the way a link with `download` does. */
function save(blob: Blob, name: string): void {
  const a = h("a", { href: URL.createObjectURL(blob), download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
}

export async function render(root: HTMLElement, params: Record<string, string>): Promise<void> {
  if (!isStaff()) return go("/");
  const body = h("div", {}, loading(T("loading")));
  clear(root, h("p", {}, h("a", { href: "#/cases", class: "back-link" }, T("back"))), body);
  try {
    const rec = await api.cases.getCaseRecord({ caseId: params.caseId });
    const c = rec.case!;
    clear(
      body,
      title(`${c.caseNumber} ${c.title}`, T("caption")),
      h("p", {}, T("visibility", { v: visibilityName(c.visibility) })),
      rec.hearings.length ? rec.hearings.map(hearingRecord) : empty(T("noHearings")),
    );
  } catch (e) {
    clear(body, title(T("caption")), notice("error", refusal(e).text, T("cannotLoad")));
  }
}

function hearingRecord(hr: HearingRecord): HTMLElement {
  const hg = hr.hearing!;
  const names = new Map(hg.participants.map((p) => [p.id, `${p.displayName} (${roleName(p.role)})`]));
  const hid = `hr-${hg.id}`;
  const verdict = h("div", { class: "verdict", "aria-live": "polite" });
  const verify = button(T("verify"), () =>
    void busy(el, async () => {
      const v = await attempt(() => api.hearings.verifyHearingLog({ hearingId: hg.id }), (r) => clear(verdict, notice("error", r.text)));
      if (!v) return;
      clear(
        verdict,
        v.ok
          ? notice("success", T("verified", { n: String(v.eventsChecked), hash: v.headHash.slice(0, 16) }))
          : notice("error", T("broken", { seq: String(v.firstBadSeq), problem: v.problem })),
      );
    }), "secondary", { class: "button button-secondary verify", "aria-label": T("verifyFor", { title: hg.title }) });
  const el = h(
    "section",
    { class: "record-hearing", "data-hearing": hg.id, "aria-labelledby": hid },
    h("h2", { id: hid }, hg.title, " ", stateTag(hg.state)),
    h("p", {}, hearingTime(hg, true), " · ", hg.presidingJudgeName),
    h("p", {}, hearingActions(hg)),
    verify,
    verdict,
    files(T("recordings"), hr.recordings, names, `${hid}-rec`),
    files(T("tracks"), hr.tracks, names, `${hid}-tracks`),
    transcript(hr, `${hid}-tr`),
  );
  return el;
}

function files(heading: string, list: MediaFile[], names: Map<string, string>, id: string): HTMLElement[] {
  const head = h("h3", { id }, `${heading} (${list.length})`);
  if (!list.length) return [head, empty(T("noFiles"))];
  const cell = (label: string, ...c: (Node | string)[]) => h("td", { "data-label": label }, ...c);
  return [
    head,
    h(
      "table",
      { class: "docket-table media-files", "aria-labelledby": id },
      h("thead", {}, h("tr", {}, [T("file"), T("who"), T("span"), T("length"), T("hash"), T("download")].map((c) => h("th", { scope: "col" }, c)))),
      h(
        "tbody",
        {},
        list.map((f) => {
          const status = h("span", { role: "status" });
          const get = button(T("download"), () =>
            void (async () => {
              status.textContent = T("downloading");
              try {
                const res = await fetch(f.downloadPath, { headers: { authorization: `Bearer ${session?.token ?? ""}` } });
                if (!res.ok) throw new Error(String(res.status));
                save(await res.blob(), f.file);
                status.textContent = "";
              } catch {
                status.textContent = T("downloadFailed", { file: f.file });
              }
            })(), "secondary", { class: "button button-secondary download", "aria-label": T("downloadFile", { file: f.file }), "data-path": f.downloadPath });
          return h(
            "tr",
            {},
            cell(T("file"), f.file),
            cell(T("who"), names.get(f.participantId) ?? ""),
            cell(T("span"), `${clock(f.startMs)}–${clock(f.endMs)}`),
            cell(T("length"), clock(f.durationMs)),
            cell(T("hash"), h("span", { class: "hash" }, f.sha256)),
            cell(T("download"), get, status),
          );
        }),
      ),
    ),
  ];
}

const FORMATS: [TranscriptFormat, string, string][] = [
  [TranscriptFormat.VTT, "WebVTT", "vtt"],
  [TranscriptFormat.SRT, "SRT", "srt"],
  [TranscriptFormat.TXT, "TXT", "txt"],
  [TranscriptFormat.JSON, "JSON", "json"],
];

function transcript(hr: HearingRecord, id: string): HTMLElement[] {
  const head = h("h3", { id }, T("transcript"));
  if (!hr.hasTranscript) return [head, empty(T("noTranscript"))];
  const hearingId = hr.hearing!.id;
  const text = h("div", { class: "transcript-text", hidden: true, tabindex: 0, "aria-labelledby": id });
  const problem = h("div");
  const get = (format: TranscriptFormat) => attempt(() => api.record.getTranscript({ hearingId, format }), (r) => clear(problem, notice("error", r.text)));
  return [
    head,
    h("p", {}, T("segments", { n: String(hr.transcriptSegments) })),
    h(
      "div",
      { class: "button-group" },
      button(T("read"), async () => {
        const t = await get(TranscriptFormat.TXT);
        if (!t) return;
        text.textContent = t.rendered;
        text.hidden = false;
      }, "secondary", { class: "button button-secondary read-transcript" }),
      FORMATS.map(([format, label, ext]) =>
        button(label, async () => {
          const t = await get(format);
          if (t) save(new Blob([t.rendered], { type: t.contentType }), `transcript-${hearingId}.${ext}`);
        }, "secondary", { class: "button button-secondary transcript-download", "aria-label": T("transcriptAs", { format: label }), "data-format": ext }),
      ),
    ),
    problem,
    text,
  ];
}
