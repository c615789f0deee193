# live.hostkeys: host-key continuity (--state, kexwatch hostkeys) against a real
# sshd in network namespaces (tests/hostkeys/hostkeys.sh). Needs root, sshd,
# ssh, tcpdump and sqlite3; skipped (exit 77) without them. Included from
# tests/tests.cmake.
add_test(NAME live.hostkeys
         COMMAND ${CMAKE_CURRENT_LIST_DIR}/hostkeys.sh $<TARGET_FILE:kexwatch>)
set_tests_properties(live.hostkeys PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600 RUN_SERIAL ON)
