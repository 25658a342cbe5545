# Finds libtorch in a fixed order and says which one it took:
#   1. LIBTORCH (a libtorch folder) or Torch_DIR (its cmake folder), from the cache or the environment;
#   2. the torch of a Python interpreter (torch.utils.cmake_prefix_path);
#   3. the system (Debian/Ubuntu libtorch-dev).
# Nothing is downloaded.
set(_ssn_hints "")
if(DEFINED ENV{LIBTORCH} AND NOT LIBTORCH)
  set(LIBTORCH "$ENV{LIBTORCH}")
endif()
if(DEFINED ENV{Torch_DIR} AND NOT Torch_DIR)
  set(Torch_DIR "$ENV{Torch_DIR}")
endif()
set(SSN_TORCH_SOURCE "")
if(LIBTORCH)
  list(APPEND CMAKE_PREFIX_PATH "${LIBTORCH}")
  set(SSN_TORCH_SOURCE "LIBTORCH=${LIBTORCH}")
elseif(Torch_DIR)
  set(SSN_TORCH_SOURCE "Torch_DIR=${Torch_DIR}")
else()
  find_program(_ssn_python NAMES python3 python)
  if(_ssn_python)
    execute_process(COMMAND ${_ssn_python} -c "import torch.utils; print(torch.utils.cmake_prefix_path)"
      OUTPUT_VARIABLE _ssn_py_prefix OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE _ssn_py_rc)
    if(_ssn_py_rc EQUAL 0 AND EXISTS "${_ssn_py_prefix}")
      list(APPEND CMAKE_PREFIX_PATH "${_ssn_py_prefix}")
      set(SSN_TORCH_SOURCE "python torch (${_ssn_py_prefix})")
    endif()
  endif()
  if(NOT SSN_TORCH_SOURCE)
    list(APPEND CMAKE_PREFIX_PATH /usr/lib/x86_64-linux-gnu/cmake/Torch /usr/lib/aarch64-linux-gnu/cmake/Torch)
    set(SSN_TORCH_SOURCE "system")
  endif()
endif()

find_package(Torch QUIET)
if(NOT Torch_FOUND)
  message(FATAL_ERROR
    "supersimplenet: libtorch was not found (looked at: ${SSN_TORCH_SOURCE}).\n"
    "Fix one of:\n"
    "  1. apt-get install libtorch-dev   (Debian/Ubuntu)\n"
    "  2. export LIBTORCH=/path/to/libtorch   (an unpacked libtorch folder)\n"
    "  3. pip install torch   (a Python torch is found through torch.utils.cmake_prefix_path)")
endif()

# TORCH_CXX_FLAGS carries -D_GLIBCXX_USE_CXX11_ABI=...; keep it as a list of options.
separate_arguments(SSN_TORCH_CXX_FLAGS UNIX_COMMAND "${TORCH_CXX_FLAGS}")
# The folder holding libtorch's shared objects, for the RPATH of the addon.
get_filename_component(SSN_TORCH_LIBDIR "${TORCH_LIBRARY}" DIRECTORY)
message(STATUS "supersimplenet: libtorch ${Torch_VERSION} from ${SSN_TORCH_SOURCE}; libs in ${SSN_TORCH_LIBDIR}")
