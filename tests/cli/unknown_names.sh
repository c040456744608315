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
# Model specs: unknown models and parameters, values out of range.
expect_error 2 "unknown model 'rnn' (mlp or transformer)" -- \
    "$IAMP" train --task permpow --algo imitate --model rnn
expect_error 2 "model mlp has no parameter 'd' (it has embed, hidden, layers, pair)" -- \
    "$IAMP" train --task permpow --algo imitate --model mlp:d=4
expect_error 2 "heads=3 does not divide d=64" -- \
    "$IAMP" train --task permpow:context=1 --algo imitate --model transformer:heads=3
expect_error 2 "dec=0 is not a whole number in [1, 8]" -- \
    "$IAMP" train --task permpow:context=1 --algo imitate --model transformer:dec=0
expect_error 2 "no parameter 'context'" -- "$IAMP" train --task tictactoe:context=1 --algo imitate
finish
