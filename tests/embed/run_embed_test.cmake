# Installs rasterflow into a temporary prefix, then configures, builds and runs an outside
# project that finds it with find_package(rasterflow):
#   PROJECT (its folder under SOURCE_DIR), PROGRAM (the executable it builds), and what its
#   output must show: EXPECT (a regular expression), and with SAME_COUNTS its first two groups
#   equal (examples/embed_sink: as many NDJSON lines as CSV rows).
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BINARY_DIR} --prefix ${WORK_DIR}/prefix
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install failed: ${rc}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/${PROJECT} -B ${WORK_DIR}/build -G ${GENERATOR}
                        -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configuring ${PROJECT} failed: ${rc}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building ${PROJECT} failed: ${rc}")
endif()
execute_process(COMMAND ${WORK_DIR}/build/${PROGRAM} ${WORK_DIR}/run RESULT_VARIABLE rc OUTPUT_VARIABLE out)
message(STATUS "${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${PROJECT} failed: ${rc}: ${out}")
endif()
if(NOT out MATCHES "${EXPECT}")
  message(FATAL_ERROR "unexpected output: ${out}")
endif()
if(SAME_COUNTS AND NOT CMAKE_MATCH_1 STREQUAL CMAKE_MATCH_2)
  message(FATAL_ERROR "the counts differ: ${out}")
endif()
