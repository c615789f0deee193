# Registers the tests driven by Python scripts: conformance.upstream (external corpus
# in KW_SHARED_DIR) and, per capture in tests/pcaps, golden.<case> and
# golden.<case>.truth. Included from tests/CMakeLists.txt; see tests/golden/README.md.
find_package(Python3 COMPONENTS Interpreter REQUIRED)

set(KW_TESTS_DIR ${CMAKE_SOURCE_DIR}/tests)
set(KW_PCAPS_DIR ${KW_TESTS_DIR}/pcaps)

# Upstream corpus: skipped (exit 77) when the shared folder is absent.
add_test(NAME conformance.upstream
         COMMAND ${Python3_EXECUTABLE} ${KW_TESTS_DIR}/conformance/conformance.py
                 --kexwatch $<TARGET_FILE:kexwatch> --shared ${KW_SHARED_DIR})
set_tests_properties(conformance.upstream PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 1800)

# Golden captures: <case>.pcap / .pcap.gz / .pcapng beside <case>.expected.jsonl and,
# optionally, <case>.truth.json. Outputs are kept in the build tree for inspection.
file(GLOB KW_GOLDEN_CAPTURES CONFIGURE_DEPENDS
     ${KW_PCAPS_DIR}/*.pcap ${KW_PCAPS_DIR}/*.pcap.gz ${KW_PCAPS_DIR}/*.pcapng)
# A new .expected.jsonl or .truth.json must also re-run the configure step.
file(GLOB KW_GOLDEN_SIDECARS CONFIGURE_DEPENDS
     ${KW_PCAPS_DIR}/*.expected.jsonl ${KW_PCAPS_DIR}/*.truth.json)
set(KW_GOLDEN_OUT ${CMAKE_CURRENT_BINARY_DIR}/golden)
set(KW_RUN_GOLDEN ${Python3_EXECUTABLE} ${KW_TESTS_DIR}/golden/run_golden.py
    --kexwatch $<TARGET_FILE:kexwatch> --pcap-dir ${KW_PCAPS_DIR})

set(KW_GOLDEN_CASES "")
foreach(capture_path ${KW_GOLDEN_CAPTURES})
  get_filename_component(capture ${capture_path} NAME)
  string(REGEX REPLACE "\\.(pcap|pcap\\.gz|pcapng)$" "" case ${capture})
  set(expected ${KW_PCAPS_DIR}/${case}.expected.jsonl)
  set(truth ${KW_PCAPS_DIR}/${case}.truth.json)
  if(${case} IN_LIST KW_GOLDEN_CASES)
    message(WARNING "tests/pcaps: two captures are named ${case}; ${capture} is not tested")
    continue()
  endif()
  list(APPEND KW_GOLDEN_CASES ${case})
  if(EXISTS ${expected})
    add_test(NAME golden.${case}
             COMMAND ${KW_RUN_GOLDEN} --capture ${capture} --expected ${expected}
                     --output ${KW_GOLDEN_OUT}/${case}.actual.jsonl)
    set_tests_properties(golden.${case} PROPERTIES TIMEOUT 300)
  endif()
  if(EXISTS ${truth})
    add_test(NAME golden.${case}.truth
             COMMAND ${KW_RUN_GOLDEN} --capture ${capture} --truth ${truth}
                     --expected ${expected}
                     --output ${KW_GOLDEN_OUT}/${case}.truth-actual.jsonl)
    set_tests_properties(golden.${case}.truth PROPERTIES TIMEOUT 300)
  endif()
endforeach()
