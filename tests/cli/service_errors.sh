# The service commands keep the CLI contract: bad usage exits 2, a server
# that cannot be reached or refuses exits 1, each with one "iamp: " line.
source "$(dirname "$0")/lib.sh.inc"
export IAMP_ADDR=127.0.0.1:1 # nothing listens on port 1
expect_error 2 "which job" -- "$IAMP" status
expect_error 2 "JOB" -- "$IAMP" status abc
expect_error 2 "--kind" -- "$IAMP" submit --kind nap
expect_error 2 "needs --rounds" -- "$IAMP" submit --kind train
expect_error 2 "--depth" -- "$IAMP" submit --depth x
expect_error 2 "unknown option" -- "$IAMP" status --wait 3
expect_error 2 "unexpected argument" -- "$IAMP" watch 3 4
expect_error 2 "not HOST:PORT" -- "$IAMP" serve --listen nowhere
expect_error 2 "needs --token-file" -- "$IAMP" serve --listen 0.0.0.0:7433 --data-dir "$TMP/d"
expect_error 2 "--max-depth" -- "$IAMP" serve --max-depth 99
expect_error 2 "token file" -- "$IAMP" status --token-file "$TMP/none" 3
expect_error 1 "cannot connect" -- "$IAMP" status 3
expect_error 1 "cannot connect" -- "$IAMP" info --addr 127.0.0.1:1
printf 'pow x=1 k=1\n' >"$TMP/q.txt"
expect_error 1 "cannot connect" -- "$IAMP" submit --wait "$TMP/q.txt"
expect_error 1 "cannot open" -- "$IAMP" submit "$TMP/missing.txt"
expect_error 2 "no model" -- "$IAMP" serve --listen 127.0.0.1:0 --data-dir "$TMP/empty"
finish
