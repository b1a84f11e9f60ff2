# WHITEBOX_SANITIZE: a comma-separated list of sanitizers (address,undefined) that the library,
# the CLI, the tests and the benchmarks are built with; empty for none. LibTorch, OpenCV and
# protobuf come uninstrumented from Debian: see docs/hardening.md for what that rules out.
set(WHITEBOX_SANITIZE "" CACHE STRING "Sanitizers to build with (e.g. address,undefined), empty for none")
if(WHITEBOX_SANITIZE)
  # Undefined behaviour stops the program, as a memory error does, so that a test cannot pass
  # with a finding in its log. vptr is left out: it compares type info across shared-library
  # boundaries, where LibTorch's uninstrumented libraries may hold their own copies of it.
  set(_flags -fsanitize=${WHITEBOX_SANITIZE} -fno-omit-frame-pointer)
  if(WHITEBOX_SANITIZE MATCHES "undefined")
    list(APPEND _flags -fno-sanitize-recover=undefined -fno-sanitize=vptr)
  endif()
  add_compile_options(${_flags})
  # GCC's flow analysis sees the sanitizers' checks as paths on which values are uninitialised
  # (in ATen's c10::optional and std::function): warnings that a plain build does not give.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    add_compile_options(-Wno-maybe-uninitialized)
  endif()
  add_link_options(${_flags})
  message(STATUS "whitebox: building with -fsanitize=${WHITEBOX_SANITIZE}")
endif()
