# Bad flags and commands: exit 2 with one line naming the problem.
source "$(dirname "$0")/lib.sh.inc"
expect_error 2 "unknown command" -- "$IAMP" frobnicate
expect_error 2 "--bogus" -- "$IAMP" train --task permpow --algo imitate --bogus
expect_error 2 "--rounds" -- "$IAMP" train --task permpow --algo imitate --rounds ten
expect_error 2 "--rounds" -- "$IAMP" train --task permpow --algo imitate --rounds -3
expect_error 2 "--depth" -- "$IAMP" train --task permpow --algo imitate --depth 99
expect_error 2 "--lr" -- "$IAMP" train --task permpow --algo imitate --lr 0
expect_error 2 "--lr-schedule" -- "$IAMP" train --task permpow --algo imitate --lr-schedule cosine
expect_error 2 "--seed" -- "$IAMP" train --task permpow --algo imitate --seed -1
expect_error 2 "--task is required" -- "$IAMP" train --algo imitate
expect_error 2 "--algo is required" -- "$IAMP" train --task permpow
expect_error 2 "--resume needs --checkpoint-dir" -- "$IAMP" train --resume
expect_error 2 "unexpected argument" -- "$IAMP" train --task permpow --algo imitate extra
expect_error 2 "missing value" -- "$IAMP" train --task
expect_error 2 "--depth" -- "$IAMP" answer --task permpow --depth x
expect_error 2 "--task or --checkpoint" -- "$IAMP" answer
expect_error 2 "--checkpoint is required" -- "$IAMP" eval --task permpow
expect_error 2 "unknown benchmark" -- "$IAMP" bench nothing
expect_error 2 "--hidden" -- "$IAMP" bench train --hidden 0
expect_error 2 "--samples" -- "$IAMP" train --task tictactoe --algo search --samples 0
expect_error 2 "--lambda" -- "$IAMP" train --task tictactoe --algo mixed --lambda 1.5
expect_error 2 "--beta" -- "$IAMP" train --task tictactoe --algo mixed --beta -1
expect_error 2 "--entropy" -- "$IAMP" train --task tictactoe --algo reinforce --entropy lots
expect_error 2 "--warmup" -- "$IAMP" train --task tictactoe --algo reinforce --warmup -2
expect_error 2 "--value-coef" -- "$IAMP" train --task tictactoe --algo reinforce --value-coef x
"$IAMP" >/dev/null 2>&1
[ $? -eq 2 ] || fail "iamp without a command should exit 2"
# The server's limit on questions per round, refused before connecting.
expect_error 2 "--questions" -- "$IAMP" submit --addr 127.0.0.1:9 --kind train --rounds 1 --questions 65537
finish
