# Build settings for whisper.cpp, read by its CMake through CMAKE_PROJECT_INCLUDE, which
# .cargo/config.toml sets for whisper-rs-sys's build script (it forwards CMAKE_* variables).
# Nothing of whisper.cpp is copied or changed: this only adds a compiler option.
include_guard(GLOBAL)

# ggml-default-threads.h: a ggml CPU backend that nobody gives a thread count runs on one thread,
# not four. See that file for why.
add_compile_options(
  "$<$<COMPILE_LANGUAGE:CXX>:SHELL:-include ${CMAKE_CURRENT_LIST_DIR}/ggml-default-threads.h>")
