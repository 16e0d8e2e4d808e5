# Opens HTML in headless Chromium with console logging on stderr, takes a PNG screenshot, and fails
# when the console logged anything (the report page has no script, so any console line is an error:
# an uncaught exception or console.error), or the screenshot is missing, not a 1400x3000 PNG or
# smaller than MIN_PNG_BYTES (a blank page compresses to a few KB).
# Inputs: HTML, PNG, PROFILE (a scratch Chromium profile folder), optional MIN_PNG_BYTES.
# Prints "SKIP: chromium is not installed" (the test's SKIP_REGULAR_EXPRESSION) without Chromium.
find_program(CHROMIUM NAMES chromium chromium-browser google-chrome)
if(NOT CHROMIUM)
  message(STATUS "SKIP: chromium is not installed (scripts/install-deps.sh installs it)")
  return()
endif()
if(NOT EXISTS "${HTML}")
  message(FATAL_ERROR "no page to open: ${HTML}")
endif()
get_filename_component(HTML "${HTML}" ABSOLUTE)
file(REMOVE "${PNG}")
file(REMOVE_RECURSE "${PROFILE}")
# Its own profile folder: parallel tests must not share Chromium's profile lock.
execute_process(COMMAND ${CHROMIUM} --headless --no-sandbox --disable-gpu --no-first-run --hide-scrollbars
                        --user-data-dir=${PROFILE} --enable-logging=stderr --v=0
                        --window-size=1400,3000 --screenshot=${PNG} file://${HTML}
                TIMEOUT 50 RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
file(REMOVE_RECURSE "${PROFILE}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "chromium exited '${rc}' on ${HTML}:\n${out}\n${err}")
endif()
# Console messages appear on stderr as: [pid:tid:date:INFO:CONSOLE:1] "Uncaught ReferenceError: ...", source: ...
string(REGEX MATCHALL "[^\n]*:CONSOLE[^\n]*" console "${err}")
if(console)
  message(FATAL_ERROR "Chromium's console reported errors on ${HTML}:\n${console}")
endif()
if(NOT EXISTS "${PNG}")
  message(FATAL_ERROR "chromium wrote no screenshot ${PNG}:\n${out}\n${err}")
endif()
file(SIZE "${PNG}" size)
file(READ "${PNG}" header LIMIT 24 HEX)
string(SUBSTRING "${header}" 0 16 magic)
string(SUBSTRING "${header}" 32 16 dims)  # IHDR width and height, big-endian
if(NOT magic STREQUAL "89504e470d0a1a0a" OR NOT dims STREQUAL "0000057800000bb8")
  message(FATAL_ERROR "${PNG} is not a 1400x3000 PNG (header ${header}, ${size} bytes)")
endif()
if(DEFINED MIN_PNG_BYTES AND size LESS MIN_PNG_BYTES)
  message(FATAL_ERROR "${PNG} has ${size} bytes, fewer than ${MIN_PNG_BYTES}: the page rendered (nearly) blank")
endif()
message(STATUS "${HTML}: no console output; screenshot ${PNG} (${size} bytes)")
