// Force-included into whisper.cpp's C++ sources by opencourt.cmake.
//
// whisper.cpp computes DTW word times (median filter, norm and mean over the alignment heads'
// attention) on a CPU backend it creates for each window without giving it a thread count, so
// ggml's default of four threads applies, whatever `n_threads` the caller asked for. On our
// two cores the three extra threads spin at ggml's barriers while one thread does the median
// filter: `perf` put 8 % of a transcription's CPU in those spins (docs/BENCHMARKS.md). Every
// backend whisper.cpp computes the model on gets the caller's thread count explicitly, so this
// default only reaches the DTW graph.
#pragma once
#include "ggml.h"
#undef GGML_DEFAULT_N_THREADS
#define GGML_DEFAULT_N_THREADS 1
