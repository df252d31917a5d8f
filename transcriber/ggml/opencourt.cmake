# Build settings for whisper.cpp, read by its CMake through CMAKE_PROJECT_INCLUDE, which
# .cargo/config.toml sets for whisper-rs-sys's build script (it forwards CMAKE_* variables).
# Nothing of whisper.cpp is copied or changed: this only adds a compiler option.
include_guard(GLOBAL)

# ggml-default-threads.h: a ggml CPU backend that nobody gives a thread count runs on one thread,
# not four. See that file for why.
add_compile_options(
  "$<$<COMPILE_LANGUAGE:CXX>:SHELL:-include ${CMAKE_CURRENT_LIST_DIR}/ggml-default-threads.h>")

# whisper-last-logits.h: DTW's pass over a window's text no longer computes the output layer for
# tokens whose logits nobody reads. See that file. whisper.cpp's src/CMakeLists.txt adds
# WHISPER_EXTRA_FLAGS to its own target only, so ggml's sources are not touched.
list(APPEND WHISPER_EXTRA_FLAGS "SHELL:-include ${CMAKE_CURRENT_LIST_DIR}/whisper-last-logits.h")
