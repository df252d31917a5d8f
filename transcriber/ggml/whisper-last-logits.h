// Force-included into whisper.cpp's own source (src/whisper.cpp, not ggml's) by opencourt.cmake,
// through whisper.cpp's WHISPER_EXTRA_FLAGS.
//
// whisper.cpp's decoder graph ends in the output layer, logits over the whole vocabulary, and
// computes it for every token of a batch, though whisper_decode_internal copies out only the
// rows the batch flags. A batch of more than WHISPER_MAX_DECODERS tokens is always the prompt or
// DTW's pass over a window's text (both built by whisper_batch_prep_legacy, which flags the last
// token only); only the sampling step flags several rows, one per decoder, at most
// WHISPER_MAX_DECODERS. DTW's pass over a window of 100 to 200 tokens thus multiplied the
// 51 864 × 384 output matrix into every one of them to read none: 6 % of a tiny.en
// transcription's CPU (`perf`, docs/BENCHMARKS.md).
//
// For those batches the logits are computed for the last token alone and padded in front with
// zero rows, so the tensor keeps its shape and the last token's row its place: every row that
// is read holds exactly what it held before. Matched by shape: the output layer is the only
// product in whisper.cpp whose weight matrix has a row per vocabulary entry (50 000 and more).
// Nothing of whisper.cpp is copied or changed: this header only wraps a ggml call.
// Checked against the whisper.cpp of whisper-rs-sys 0.15.0: on an upgrade, check again that only
// whisper_full's sampling step flags more than one row of a batch. In our use only DTW's pass
// takes this path (our prompts carry no context: the start, language and task tokens), and DTW
// reads the alignment heads' attention, not the logits; the word-time tests check that attention
// still places every word, and the transcripts of both benchmark recordings were byte-identical
// with and without this header.
#pragma once
#include "ggml.h"

static inline struct ggml_tensor * opencourt_mul_mat(
        struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, int max_decoders) {
    const int64_t n_tokens = b->ne[1];
    if (a->ne[1] >= 50000 && n_tokens > max_decoders && b->ne[2] == 1 && b->ne[3] == 1) {
        struct ggml_tensor * last =
            ggml_view_2d(ctx, b, b->ne[0], 1, b->nb[1], (size_t) (n_tokens - 1) * b->nb[1]);
        struct ggml_tensor * logits = (ggml_mul_mat)(ctx, a, last);
        return ggml_pad_ext(ctx, logits, 0, 0, (int) (n_tokens - 1), 0, 0, 0, 0, 0);
    }
    return (ggml_mul_mat)(ctx, a, b);
}

// WHISPER_MAX_DECODERS is defined by whisper.cpp before its first ggml_mul_mat call.
#define ggml_mul_mat(ctx, a, b) opencourt_mul_mat((ctx), (a), (b), WHISPER_MAX_DECODERS)
