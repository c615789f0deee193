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

# --workers 1, 2 and 3 give the same records in the same order, byte for byte, on every
# golden and crafted capture, the conformance corpus when present, and a 20 MB prefix of
# the benchmark corpus when /tmp/kexwatch-bench holds it (tests/workers/equivalence.py).
add_test(NAME golden.workers-equivalence
         COMMAND ${Python3_EXECUTABLE} ${KW_TESTS_DIR}/workers/equivalence.py
                 --kexwatch $<TARGET_FILE:kexwatch> --tests ${KW_TESTS_DIR}
                 --shared ${KW_SHARED_DIR})
set_tests_properties(golden.workers-equivalence PROPERTIES TIMEOUT 900)

# Crafted captures (tests/crafted/, written by tests/tools/make-crafted.sh with the
# libnet tool tests/tools/kw-craft.c): golden.crafted.<name> compares the records as
# the golden tests do; robustness.crafted.<name> asserts the scenario's own fact
# (tests/robustness/check_crafted.py). See tests/crafted/README.md.
find_library(KW_LIBNET_LIBRARY net)
find_path(KW_LIBNET_INCLUDE_DIR libnet.h)
if(KW_LIBNET_LIBRARY AND KW_LIBNET_INCLUDE_DIR)
  add_executable(kw-craft ${KW_TESTS_DIR}/tools/kw-craft.c)
  target_include_directories(kw-craft PRIVATE ${KW_LIBNET_INCLUDE_DIR})
  target_link_libraries(kw-craft PRIVATE ${KW_LIBNET_LIBRARY})
  set_target_properties(kw-craft PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
else()
  message(STATUS "libnet not found: kw-craft (crafted captures, robustness.memory) not built")
endif()
set(KW_CRAFTED_DIR ${KW_TESTS_DIR}/crafted)
file(GLOB KW_CRAFTED_CAPTURES CONFIGURE_DEPENDS ${KW_CRAFTED_DIR}/*.pcap ${KW_CRAFTED_DIR}/*.pcap.gz)
file(GLOB KW_CRAFTED_SIDECARS CONFIGURE_DEPENDS ${KW_CRAFTED_DIR}/*.expected.jsonl)
foreach(capture_path ${KW_CRAFTED_CAPTURES})
  get_filename_component(capture ${capture_path} NAME)
  string(REGEX REPLACE "\\.(pcap|pcap\\.gz)$" "" case ${capture})
  if(EXISTS ${KW_CRAFTED_DIR}/${case}.expected.jsonl)
    add_test(NAME golden.crafted.${case}
             COMMAND ${Python3_EXECUTABLE} ${KW_TESTS_DIR}/golden/run_golden.py
                     --kexwatch $<TARGET_FILE:kexwatch> --pcap-dir ${KW_CRAFTED_DIR}
                     --capture ${capture} --expected ${KW_CRAFTED_DIR}/${case}.expected.jsonl
                     --output ${KW_GOLDEN_OUT}/crafted.${case}.actual.jsonl)
    set_tests_properties(golden.crafted.${case} PROPERTIES TIMEOUT 300)
  endif()
  add_test(NAME robustness.crafted.${case}
           COMMAND ${Python3_EXECUTABLE} ${KW_TESTS_DIR}/robustness/check_crafted.py
                   --kexwatch $<TARGET_FILE:kexwatch> --crafted ${KW_CRAFTED_DIR} --case ${case})
  set_tests_properties(robustness.crafted.${case} PROPERTIES TIMEOUT 300)
endforeach()

# Bounded memory (1,000,000 SYNs, 10,000 endless banners) and damaged inputs/outputs.
add_test(NAME robustness.memory
         COMMAND ${KW_TESTS_DIR}/robustness/memory.sh $<TARGET_FILE:kexwatch> ${CMAKE_BINARY_DIR}
                 ${CMAKE_SOURCE_DIR})
set_tests_properties(robustness.memory PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600 RUN_SERIAL ON)
add_test(NAME robustness.malformed
         COMMAND ${KW_TESTS_DIR}/robustness/malformed.sh $<TARGET_FILE:kexwatch> ${KW_CRAFTED_DIR})
set_tests_properties(robustness.malformed PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)

# schema.records: every record of the golden and crafted captures, and of the
# conformance corpus when KW_SHARED_DIR holds it, validates against the JSON
# Schema in docs/ (python3-jsonschema from Debian).
add_test(NAME schema.records
         COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/schema/validate.py
                 --kexwatch $<TARGET_FILE:kexwatch>
                 --schema ${CMAKE_SOURCE_DIR}/docs/schema/ssh-record.schema.json
                 --captures-in ${KW_PCAPS_DIR} --captures-in ${KW_CRAFTED_DIR}
                 --shared ${KW_SHARED_DIR})
set_tests_properties(schema.records PROPERTIES TIMEOUT 300)

# Live capture (tests/live): a real sshd, rsyslog and clients in network namespaces
# made by each test; root needed (exit 77, skipped, without it). One test per script.
file(GLOB KW_LIVE_TESTS CONFIGURE_DEPENDS ${KW_TESTS_DIR}/live/*.sh)
list(FILTER KW_LIVE_TESTS EXCLUDE REGEX "/lib\\.sh$")
foreach(script ${KW_LIVE_TESTS})
  get_filename_component(case ${script} NAME_WE)
  add_test(NAME live.${case} COMMAND bash ${script} $<TARGET_FILE:kexwatch>)
  set_tests_properties(live.${case} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 180 LABELS live)
endforeach()

# Diagnoses on real failures (tests/pcaps/fail-*.pcap, made by make-failures.sh): the
# codes, key evidence and close facts each connection must have; see
# tests/diagnoses/check.py.
add_test(NAME golden.diagnoses
         COMMAND ${Python3_EXECUTABLE} ${KW_TESTS_DIR}/diagnoses/check.py
                 --kexwatch $<TARGET_FILE:kexwatch> --pcaps ${KW_PCAPS_DIR})
set_tests_properties(golden.diagnoses PROPERTIES TIMEOUT 300)

# inputs.variants: one real capture rewritten into every link type, pcapng,
# big-endian and nanosecond pcap, gzip, stdin, a filter and rotated files gives the same records.
add_test(NAME inputs.variants
         COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/inputs/variants.py
                 --kexwatch $<TARGET_FILE:kexwatch>
                 ${CMAKE_SOURCE_DIR}/tests/pcaps/demo.pcap
                 ${CMAKE_SOURCE_DIR}/tests/pcaps/openssh-default-v6.pcap)
set_tests_properties(inputs.variants PROPERTIES TIMEOUT 300)

# package.deb: cpack's Debian package installs into a scratch root and the
# installed binary, man page and unit work (tests/package/install.sh).
add_test(NAME package.deb COMMAND bash ${CMAKE_SOURCE_DIR}/tests/package/install.sh
                                   ${CMAKE_SOURCE_DIR})
set_tests_properties(package.deb PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600)

# Host-key continuity against a real sshd (tests/hostkeys/).
include(${KW_TESTS_DIR}/hostkeys/tests.cmake)

# golden.auth: ssh.auth inferred from encrypted sizes against what the clients said
# (tests/pcaps/auth-*.pcap, made by tests/pcaps/make-auth.sh): every high-confidence
# inference right, auth_guessing on the guessing bursts; prints the accuracy table
# (tests/auth/check.py, docs/auth.md).
add_test(NAME golden.auth
         COMMAND ${Python3_EXECUTABLE} ${KW_TESTS_DIR}/auth/check.py
                 --kexwatch $<TARGET_FILE:kexwatch> --pcaps ${KW_PCAPS_DIR})
set_tests_properties(golden.auth PROPERTIES TIMEOUT 300)

# docs.diagnoses_examples: the example records in docs/diagnoses.md are the
# expected records' own diagnoses (tests/diagnoses/examples.py regenerates them).
add_test(NAME docs.diagnoses_examples
         COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/diagnoses/examples.py --check
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})

# docs.limits: every limit of --list-limits is in docs/limits.md's table, with its default.
add_test(NAME docs.limits
         COMMAND ${Python3_EXECUTABLE} ${KW_TESTS_DIR}/docs/limits_table.py
                 $<TARGET_FILE:kexwatch> ${CMAKE_SOURCE_DIR}/docs/limits.md)

# docs.record_fields: docs/record.md, the schema and output/record.c name the same
# fields, and every field in the records of every capture (tests/pcaps,
# tests/crafted, and the conformance corpus when KW_SHARED_DIR holds it) is in
# the schema; the statistics record likewise against docs/operations.md.
add_test(NAME docs.record_fields
         COMMAND /usr/bin/python3 ${KW_TESTS_DIR}/docs/record_fields.py
                 --kexwatch $<TARGET_FILE:kexwatch> --source ${CMAKE_SOURCE_DIR}
                 --shared ${KW_SHARED_DIR})
set_tests_properties(docs.record_fields PROPERTIES TIMEOUT 300)

# readme.run_demo: the README's ./run.sh shows the demo summary (it builds in
# build/ as a user's first run does).
add_test(NAME readme.run_demo COMMAND bash ${CMAKE_SOURCE_DIR}/tests/readme/run_demo.sh
                                       ${CMAKE_SOURCE_DIR})
set_tests_properties(readme.run_demo PROPERTIES TIMEOUT 900 RUN_SERIAL ON)

# ux.color: colour on a capable terminal only (script(1) gives a real pty).
add_test(NAME ux.color COMMAND bash ${CMAKE_SOURCE_DIR}/tests/ux/color.sh $<TARGET_FILE:kexwatch>
                                    ${CMAKE_SOURCE_DIR}/tests/pcaps/demo.pcap)
set_tests_properties(ux.color PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)

# ux.table: the text table fits 80 and 132 columns (COLUMNS, and a pty sized with stty).
add_test(NAME ux.table COMMAND bash ${CMAKE_SOURCE_DIR}/tests/ux/table.sh $<TARGET_FILE:kexwatch>
                                    ${KW_PCAPS_DIR})
set_tests_properties(ux.table PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)

# ux.explain: --explain with client messages from the golden captures' ssh -v logs.
add_test(NAME ux.explain COMMAND bash ${CMAKE_SOURCE_DIR}/tests/ux/explain.sh
                                      $<TARGET_FILE:kexwatch> ${KW_PCAPS_DIR})
set_tests_properties(ux.explain PROPERTIES TIMEOUT 120)

# ux.filters: --only, --diagnosis, --severity, --host, --port against the unfiltered records.
add_test(NAME ux.filters COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tests/ux/filters.py
                                      $<TARGET_FILE:kexwatch> ${KW_PCAPS_DIR})
set_tests_properties(ux.filters PROPERTIES TIMEOUT 300)

# golden.evidence_files: --evidence-pcap with -r reads back to the same failing records.
add_test(NAME golden.evidence_files
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tests/evidence/from_files.py
                 $<TARGET_FILE:kexwatch> ${KW_PCAPS_DIR} ${CMAKE_CURRENT_BINARY_DIR}/evidence-files)
set_tests_properties(golden.evidence_files PROPERTIES TIMEOUT 300)

# golden.inventory: kexwatch inventory on the golden records (ssh-rsa servers, non-PQ
# clients, --compare, --policy, --state, docs/policy.md).
add_test(NAME golden.inventory
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tests/inventory/inventory.py
                 $<TARGET_FILE:kexwatch> ${KW_PCAPS_DIR} ${CMAKE_SOURCE_DIR}
                 ${CMAKE_CURRENT_BINARY_DIR}/inventory)
set_tests_properties(golden.inventory PROPERTIES TIMEOUT 300)

# Every C file is formatted by .clang-format (formatting changes go in their own commits).
add_test(NAME format.clang COMMAND ${KW_TESTS_DIR}/format/check.sh)
set_tests_properties(format.clang PROPERTIES TIMEOUT 300)

# golden.profiles: --record compact against --record full on every golden and
# crafted capture (full carries all compact has, and more), and the join keys
# (flow_id stable across reads, other for another sensor).
add_test(NAME golden.profiles
         COMMAND ${Python3_EXECUTABLE} ${KW_TESTS_DIR}/golden/profiles.py $<TARGET_FILE:kexwatch>
                 ${KW_PCAPS_DIR} ${KW_CRAFTED_DIR})
set_tests_properties(golden.profiles PROPERTIES TIMEOUT 900)

# Limits that degrade a connection, never the run (DESIGN.md section 5): a full
# flow table gives one record per connection (tests/robustness/eviction.py).
add_test(NAME robustness.eviction
         COMMAND ${Python3_EXECUTABLE} ${KW_TESTS_DIR}/robustness/eviction.py
                 --kexwatch $<TARGET_FILE:kexwatch> --craft ${CMAKE_BINARY_DIR}/kw-craft)
set_tests_properties(robustness.eviction PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
# A limit that stops the parser makes the outcome incomplete with
# analysis_limited, never a wrong error (tests/robustness/limited.py).
add_test(NAME robustness.analysis_limited
         COMMAND ${Python3_EXECUTABLE} ${KW_TESTS_DIR}/robustness/limited.py
                 --kexwatch $<TARGET_FILE:kexwatch> --pcaps ${KW_PCAPS_DIR})
set_tests_properties(robustness.analysis_limited PROPERTIES TIMEOUT 120)
# SIGINT/SIGTERM during a read are reported (exit 130/143) with every open
# connection written; a FIFO streams its records (tests/robustness/interrupt.py).
add_test(NAME robustness.interrupt
         COMMAND ${Python3_EXECUTABLE} ${KW_TESTS_DIR}/robustness/interrupt.py
                 --kexwatch $<TARGET_FILE:kexwatch> --craft ${CMAKE_BINARY_DIR}/kw-craft)
set_tests_properties(robustness.interrupt PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
# The global memory budget against 10,000 hostile KEXINITs: peak RSS at most
# 300 MB, refused connections marked (tests/robustness/memcap.sh).
add_test(NAME robustness.memcap
         COMMAND ${KW_TESTS_DIR}/robustness/memcap.sh $<TARGET_FILE:kexwatch> ${CMAKE_BINARY_DIR}
                 ${CMAKE_SOURCE_DIR})
set_tests_properties(robustness.memcap PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600 RUN_SERIAL ON)
# Wrong use is exit 2 with a usage hint: --syslog ports and forms, -f filters;
# and the default worker count follows the CPUs it may use (tests/robustness/options.py).
add_test(NAME robustness.options
         COMMAND ${Python3_EXECUTABLE} ${KW_TESTS_DIR}/robustness/options.py
                 --kexwatch $<TARGET_FILE:kexwatch> --pcap ${KW_PCAPS_DIR}/demo.pcap)
set_tests_properties(robustness.options PROPERTIES TIMEOUT 120)
