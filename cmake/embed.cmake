# embed.cmake: write the file IN as a C byte array NAME into OUT, so the
# program carries a document (docs/diagnoses.md for --explain) without a copy
# of its text in the source. Run with cmake -DIN= -DOUT= -DNAME= -P embed.cmake.
file(READ "${IN}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE "${OUT}" "/* Generated from ${IN} by cmake/embed.cmake: do not edit. */\n"
     "const char ${NAME}[] = {${bytes} 0};\n"
     "const unsigned long ${NAME}_len = sizeof(${NAME}) - 1;\n")
