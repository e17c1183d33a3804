# CMake generated Testfile for 
# Source directory: /work/wt-appt
# Build directory: /work/wt-appt/build-rel
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
add_test([=[lint/banned]=] "/work/wt-appt/scripts/check-banned" "/work/wt-appt/src")
set_tests_properties([=[lint/banned]=] PROPERTIES  _BACKTRACE_TRIPLES "/work/wt-appt/CMakeLists.txt;94;add_test;/work/wt-appt/CMakeLists.txt;0;")
