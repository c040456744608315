# Out-of-range and malformed task parameters: exit 2, naming the parameter.
source "$(dirname "$0")/lib.sh.inc"
expect_error 2 "n=1 is out of range" -- "$IAMP" train --task permpow:n=1 --algo imitate
expect_error 2 "n=99999 is out of range" -- "$IAMP" train --task permpow:n=99999 --algo imitate
expect_error 2 "kmax=0" -- "$IAMP" train --task permpow:kmax=0 --algo imitate
expect_error 2 "n=abc is not an integer" -- "$IAMP" train --task permpow:n=abc --algo imitate
expect_error 2 "no parameter 'm'" -- "$IAMP" train --task permpow:m=3 --algo imitate
expect_error 2 "given twice" -- "$IAMP" train --task permpow:n=8,n=9 --algo imitate
expect_error 2 "ends with ','" -- "$IAMP" answer --task permpow:n=8,
finish
