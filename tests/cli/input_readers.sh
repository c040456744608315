# Question readers (iamp answer, iamp submit) refuse what they cannot read
# with one line naming the file, the line and the problem, exit 1: a
# directory, zero bytes, an endless line (/dev/zero), an over-long line,
# a NUL-led line between two questions, bytes that are not UTF-8, control
# characters. Error messages never carry the raw control bytes.
source "$(dirname "$0")/lib.sh.inc"
A=("$IAMP" answer --task permpow:n=8,kmax=7)
mkdir "$TMP/dir"
expect_error 1 "cannot read $TMP/dir: Is a directory" -- "${A[@]}" "$TMP/dir"
head -c 50000 /dev/zero >"$TMP/zeros"
expect_error 1 "zeros line 1: contains a NUL byte at column 1" -- "${A[@]}" "$TMP/zeros"
expect_error 1 "/dev/zero line 1: contains a NUL byte" -- timeout 10 "${A[@]}" /dev/zero
head -c 100000 /dev/zero | tr "\\0" x >"$TMP/xs"
expect_error 1 "xs line 1: longer than 255 bytes" -- "${A[@]}" "$TMP/xs"
printf 'pow x=1 k=1 %0300d\n' 0 >"$TMP/long"
expect_error 1 "long line 1: longer than 255 bytes" -- "${A[@]}" "$TMP/long"
printf 'pow x=1 k=1\n\000garbage\npow x=2 k=2\n' >"$TMP/nul"
expect_error 1 "nul line 2: contains a NUL byte at column 1" -- "${A[@]}" "$TMP/nul"
printf 'pow x=1 k=1\000garbage\n' >"$TMP/tail"
expect_error 1 "tail line 1: contains a NUL byte at column 12" -- "${A[@]}" "$TMP/tail"
printf 'pow x=1 k=1\npow x=\377 k=2\n' >"$TMP/latin"
expect_error 1 "latin line 2: is not valid UTF-8 (byte 0xff at column 7)" -- "${A[@]}" "$TMP/latin"
printf 'pow x=\033[31m1 k=1\n' >"$TMP/esc"
expect_error 1 "esc line 1: contains a control character (0x1b) at column 7" -- "${A[@]}" "$TMP/esc"
# submit reads the same way, before it connects.
expect_error 1 "submit: $TMP/zeros line 1: contains a NUL byte" -- \
    "$IAMP" submit --addr 127.0.0.1:9 "$TMP/zeros"
expect_error 1 "submit: cannot read $TMP/dir: Is a directory" -- "$IAMP" submit --addr 127.0.0.1:9 "$TMP/dir"
# A parse error echoing a question: the terminal gets \x escapes, not bytes.
printf 'pow x=1\302\205 k=1\n' >"$TMP/nel" # U+0085, a C1 control, is valid UTF-8
"${A[@]}" "$TMP/nel" >/dev/null 2>"$TMP/err" && fail "a bad question was answered"
LC_ALL=C grep -q '[[:cntrl:]]' <(tr -d '\n' <"$TMP/err") && fail "raw control bytes in: $(od -c "$TMP/err")"
# Questions that are fine still work, with blank lines, comments and CRLF.
printf '# c\n\npow x=1 k=1\r\npow x=2 k=3\n' | "${A[@]}" >"$TMP/ok" || fail "good questions refused"
[ "$(wc -l <"$TMP/ok")" -eq 2 ] || fail "want 2 answers: $(cat "$TMP/ok")"
finish
