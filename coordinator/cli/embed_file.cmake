# embed_file.cmake — a file's bytes as a C array, for a page written by a
# command (coordinator/cli/report.html). Script mode:
#   cmake -DIN=FILE -DOUT=FILE.c -DNAME=symbol -P embed_file.cmake
# writes `const unsigned char NAME[]` (the bytes and a closing NUL) and
# `const size_t NAME_len` (the bytes without it).
file(READ "${IN}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){16})" "\\1\n" bytes "${bytes}")
get_filename_component(src "${IN}" NAME)
file(WRITE "${OUT}.tmp"
  "/* ${NAME} — generated from ${src} by embed_file.cmake; do not edit. */\n"
  "#include <stddef.h>\n\n"
  "const unsigned char ${NAME}[] = {\n${bytes}\n0x00};\n"
  "const size_t ${NAME}_len = sizeof(${NAME}) - 1;\n")
file(RENAME "${OUT}.tmp" "${OUT}")
