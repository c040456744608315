# Unknown tasks, algorithms and question types: exit 2, one line.
source "$(dirname "$0")/lib.sh.inc"
expect_error 2 "unknown task 'nosuch'" -- "$IAMP" train --task nosuch --algo imitate
expect_error 2 "known: permpow" -- "$IAMP" train --task nosuch --algo imitate
expect_error 2 "unknown distillation mode 'dream'" -- "$IAMP" train --task permpow --algo dream
expect_error 2 "no question type 'value'" -- "$IAMP" train --task permpow --algo value=imitate
expect_error 2 "known: permpow tictactoe" -- "$IAMP" train --task nosuch --algo imitate
expect_error 2 "use permpow:approve=1" -- "$IAMP" train --task permpow --algo reinforce
expect_error 2 "type 'value' of task tictactoe has no approval" -- \
    "$IAMP" train --task tictactoe --algo value=search,action=search,approve=imitate
expect_error 2 "no question type 'pow'" -- "$IAMP" train --task tictactoe --algo pow=imitate
expect_error 2 "no parameter 'n'" -- "$IAMP" train --task tictactoe:n=3 --algo imitate
expect_error 2 "approve=2 is out of range" -- "$IAMP" train --task permpow:approve=2 --algo imitate
expect_error 2 "unknown task" -- "$IAMP" answer --task nosuch
expect_error 2 "unknown task" -- "$IAMP" bench train --task nosuch
finish
