"""Transcriber benchmark: our per-track transcription (whisper.cpp via `opencourt transcribe`)
against faster-whisper int8 on the mixed audio of the same synthetic hearing, same weights.

Run through scripts/bench-transcriber.sh, which builds the binary, fetches the models and makes
the virtualenv. Prints one table row per (model, system)."""
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import wave

import jiwer
import numpy as np
from faster_whisper import WhisperModel, decode_audio
from whisper_normalizer.english import EnglishTextNormalizer

SR = 16000
# (speaker, espeak voice, text) in hearing order; `overlap` starts that turn 1 s early.
TURNS = [
    ("Judge", "en-us", "Good morning. This court is now in session. We are here for the bail hearing in the matter of the state against Daniel Morgan. Are the parties ready?"),
    ("Prosecutor", "en-gb", "Yes, your honour. The prosecution is ready. We oppose bail because the defendant failed to appear at two earlier hearings."),
    ("Defence", "en-us+m3", "The defence is ready, your honour. My client missed those dates because he was in hospital, and we have the records to prove it."),
    ("Judge", "en-us", "Thank you. Please hand the records to the clerk. I will read them before I decide."),
    ("Witness", "en-gb+f3", "I am his sister. He lives with me, he works every day at the hardware store, and I will make sure he comes to court."),
    ("Prosecutor", "en-gb", "Your honour, a promise from a relative is not enough. We ask for a curfew and electronic monitoring at the very least."),
    ("Defence", "en-us+m3", "We accept a curfew. Electronic monitoring would cost him his job, which is the best reason he has to stay."),
    ("Judge", "en-us", "Bail is granted on the following conditions. The defendant will live at his sister's address, report to the police station every Monday, and keep a curfew from nine in the evening until six in the morning. We will adjourn until the fourteenth of next month."),

    ("Prosecutor", "en-gb", "Before we adjourn, your honour, the prosecution asks to call the arresting officer on the question of the curfew address."),
    ("Judge", "en-us", "Very well. Is the officer present in the building? Please bring her in and have her sworn."),
    ("Witness", "en-gb+f3", "Excuse me, your honour. Should I stay at the front or go back to my seat?"),
    ("Judge", "en-us", "You may return to your seat for now. The clerk will call you again if we need you."),
    ("Prosecutor", "en-gb", "Officer, you visited the address on the third of March. Please tell the court what you found there."),
    ("Witness", "en-gb+f3", "I was at home when she came. The flat has two bedrooms, and he has his own key."),
    ("Defence", "en-us+m3", "Your honour, the sister is not the officer. I think there has been some confusion about who is speaking."),
    ("Judge", "en-us", "Thank you, counsel. Let the record show that the officer has not yet arrived. We will wait five minutes."),
    ("Prosecutor", "en-gb", "I am told the officer is delayed in traffic and will be here within the hour."),
    ("Defence", "en-us+m3", "In that case we ask the court to decide on the written statement, which the defence does not dispute."),
    ("Judge", "en-us", "The written statement is admitted as exhibit four. I have read it, and it supports the conditions I set."),
    ("Witness", "en-gb+f3", "Thank you, your honour. I will keep the house phone on so the police can check on him at night."),
    ("Prosecutor", "en-gb", "The prosecution has nothing further on bail, but we will apply for a review if any condition is broken."),
    ("Defence", "en-us+m3", "Nothing further from the defence. My client understands the conditions and thanks the court."),
    ("Judge", "en-us", "Mister Morgan, you must keep every condition. If you break one, you will be arrested and held until trial."),
    ("Judge", "en-us", "This hearing is adjourned. The next hearing is on the fourteenth at ten in the morning, in this courtroom."),]
OVERLAP = {4: 1.0, 6: 1.0, 10: 1.5, 13: 1.0, 19: 1.0}  # these turns start early, over the previous one
GAP = 0.8


# BENCH_VOICES=b: the same hearing with other voices, a little faster, to see how much of a
# difference between systems is this recording's luck.
VARIANT_B = {"en-us": "en-gb-x-rp", "en-gb": "en-us+m5", "en-us+m3": "en-gb-scotland", "en-gb+f3": "en-us+f2"}


def speak(text, voice, path):
    rate = "150"
    if os.environ.get("BENCH_VOICES") == "b":
        voice, rate = VARIANT_B[voice], "165"
    subprocess.run(["espeak-ng", "-v", voice, "-s", rate, "-w", path, text], check=True)
    return decode_audio(path, sampling_rate=SR)


def write_wav(path, x):
    pcm = (np.clip(x, -1, 1) * 32767).astype("<i2")
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes(pcm.tobytes())


def build(tmp):
    clips, t = [], 1.0
    for i, (spk, voice, text) in enumerate(TURNS):
        audio = speak(text, voice, os.path.join(tmp, f"u{i}.wav"))
        if i in OVERLAP:
            t -= OVERLAP[i] + GAP
        clips.append((spk, t, audio, text))
        t += len(audio) / SR + GAP
    total = int((t + 1.0) * SR)
    speakers = sorted({c[0] for c in clips})
    tracks = {s: np.zeros(total, np.float32) for s in speakers}
    for spk, start, audio, _ in clips:
        a = int(start * SR)
        tracks[spk][a:a + len(audio)] += audio
    mixed = np.clip(sum(tracks.values()), -1, 1)
    paths = {}
    for s, x in tracks.items():
        paths[s] = os.path.join(tmp, f"track-{s}.wav")
        write_wav(paths[s], x)
    mixed_path = os.path.join(tmp, "mixed.wav")
    write_wav(mixed_path, mixed)
    reference = " ".join(c[3] for c in sorted(clips, key=lambda c: c[1]))
    per_speaker = {s: " ".join(c[3] for c in clips if c[0] == s) for s in speakers}
    return paths, mixed_path, total / SR, reference, per_speaker


NORM = EnglishTextNormalizer()


def wer(refs, hyps):
    return jiwer.wer([NORM(r) for r in refs], [NORM(h) for h in hyps])


def run_ours(binary, model, tracks, threads):
    """Wall and CPU seconds of one `opencourt transcribe` run (child process), and its JSON."""
    args = [binary, "transcribe", "--model", model, "--threads", str(threads), "--format", "json"]
    for label, path in tracks.items():
        args += ["--track", f"{label}={path}"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, json.loads(out)


def run_fw(ct2_dir, path, threads, words=False):
    """Wall and CPU seconds of transcribe(), the CPU seconds of loading the model, and the text."""
    c0 = time.process_time()
    model = WhisperModel(ct2_dir, device="cpu", compute_type="int8", cpu_threads=threads)
    load = time.process_time() - c0
    c0, t0 = time.process_time(), time.perf_counter()
    segs, _ = model.transcribe(path, language="en", beam_size=1, vad_filter=True,
                               condition_on_previous_text=False, word_timestamps=words)
    text = " ".join(s.text.strip() for s in segs)
    return time.perf_counter() - t0, time.process_time() - c0, load, text


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def main():
    binary, models_dir = sys.argv[1], sys.argv[2]
    threads = int(os.environ.get("BENCH_THREADS", "2"))
    # BENCH_OUR_THREADS runs opencourt on another thread count than faster-whisper, e.g. its
    # default (one less than the cores) against faster-whisper's 2 threads of the issue.
    ours_threads = int(os.environ.get("BENCH_OUR_THREADS", str(threads)))
    # This VM's CPU time for the same run varies by up to 10 %: every system runs BENCH_REPEAT
    # times, interleaved with the others so a slow spell hits them all, and the median counts.
    repeat = int(os.environ.get("BENCH_REPEAT", "3"))
    with tempfile.TemporaryDirectory() as tmp:
        tracks, mixed, dur, reference, per_speaker = build(tmp)
        words = len(reference.split())
        print(f"synthetic hearing: {dur:.1f} s, {len(tracks)} speakers, {len(TURNS)} turns "
              f"({words} words), {len(OVERLAP)} overlaps; faster-whisper {threads} threads, "
              f"opencourt {ours_threads}; "
              f"median of {repeat} runs\n")
        # "CPU s" is faster-whisper's transcribe() alone but our whole process, model load
        # included; "+ load" adds faster-whisper's model load, so both columns are like for like.
        print("| model | system | input | wall s | CPU s | CPU s + load | RTF (wall) | WER |")
        print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |")

        def per_track(ggml):
            wall, cpu, t = run_ours(binary, ggml, tracks, ours_threads)
            hyp = {s: " ".join(x["text"] for x in t["segments"] if x["speaker"] == s) for s in tracks}
            return wall, cpu, 0.0, wer([per_speaker[s] for s in tracks], [hyp[s] for s in tracks])

        def ours_mixed(ggml):
            wall, cpu, t = run_ours(binary, ggml, {"Mixed": mixed}, ours_threads)
            return wall, cpu, 0.0, wer([reference], [" ".join(x["text"] for x in t["segments"])])

        def fw(ct2, words):
            wall, cpu, load, text = run_fw(ct2, mixed, threads, words)
            return wall, cpu, load, wer([reference], [text])

        for name in os.environ.get("BENCH_MODELS", "tiny.en base").split():
            q8 = os.path.join(models_dir, f"ggml-{name}-q8_0.bin")
            f16 = os.path.join(models_dir, f"ggml-{name}-f16.bin")
            ct2 = os.path.join(models_dir, f"ct2-{name}")
            systems = [
                ("opencourt (whisper.cpp q8_0, earshot VAD)", "per-speaker tracks", lambda: per_track(q8)),
                ("opencourt (whisper.cpp f16, earshot VAD)", "per-speaker tracks", lambda: per_track(f16)),
                ("opencourt (whisper.cpp q8_0, earshot VAD)", "mixed", lambda: ours_mixed(q8)),
                ("faster-whisper int8, Silero VAD", "mixed", lambda: fw(ct2, False)),
                ("faster-whisper int8, Silero VAD, word times", "mixed", lambda: fw(ct2, True)),
            ]
            runs = [[] for _ in systems]
            for _ in range(repeat):
                for i, (_, _, run) in enumerate(systems):
                    runs[i].append(run())
            for (system, input, _), rs in zip(systems, runs):
                wall, cpu = median([r[0] for r in rs]), median([r[1] for r in rs])
                loaded = median([r[1] + r[2] for r in rs])
                # Greedy decoding is deterministic: every run should give the same words.
                w = rs[0][3]
                if any(r[3] != w for r in rs):
                    print(f"(WER differed between runs: {[round(r[3], 3) for r in rs]})")
                print(f"| {name} | {system} | {input} | {wall:.2f} | {cpu:.2f} | {loaded:.2f} "
                      f"| {wall / dur:.3f} | {w:.3f} |")
                sys.stdout.flush()
            # The target: our per-speaker tracks (row 0) against faster-whisper on the
            # mixed audio (row 3), each run paired with the faster-whisper run beside it.
            ours, theirs = runs[0], runs[3]
            strict = median([o[1] / t[1] for o, t in zip(ours, theirs)])
            with_load = median([o[1] / (t[1] + t[2]) for o, t in zip(ours, theirs)])
            print(f"({name}: our CPU ÷ faster-whisper's = {strict:.3f}; "
                  f"÷ faster-whisper's with its model load = {with_load:.3f}; "
                  f"WER {ours[0][3]:.3f} against {theirs[0][3]:.3f})")


if __name__ == "__main__":
    main()
