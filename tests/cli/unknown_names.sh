# Unknown tasks, algorithms and question types: exit 2, one line.
source "$(dirname "$0")/lib.sh.inc"
expect_error 2 "unknown task 'nosuch'" -- "$IAMP" train --task nosuch --algo imitate
expect_error 2 "known: permpow" -- "$IAMP" train --task nosuch --algo imitate
expect_error 2 "unknown distillation mode 'dream'" -- "$IAMP" train --task permpow --algo dream
expect_error 2 "no question type 'value'" -- "$IAMP" train --task permpow --algo value=imitate
expect_error 2 "unknown task" -- "$IAMP" answer --task nosuch
expect_error 2 "unknown task" -- "$IAMP" bench train --task nosuch
finish
