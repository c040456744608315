/* fpenv.h — the floating-point environment every computing thread runs in.
 *
 * iamp flushes subnormal floats to zero (x86: MXCSR's FTZ and DAZ bits;
 * aarch64: FPCR.FZ). Adam's moments of parameters that rarely receive a
 * gradient (one-hot table rows of tokens a minibatch does not use) decay
 * geometrically into the subnormal range, and each arithmetic operation on
 * a subnormal costs about a hundred cycles on x86: on permpow a fifth of
 * the run went to such operations. Flushing changes no value a model can
 * use (|x| < 1.2e-38), and it is set the same way on every thread and
 * rank, so results stay deterministic.
 *
 * The setting is per thread; a thread inherits it from the one that
 * creates it (POSIX), so main() sets it first and worker/pool.c sets it on
 * its threads too (they may be created by a thread that did not).
 */
#ifndef IAMP_FPENV_H
#define IAMP_FPENV_H

/* Flush subnormals to zero on the calling thread (a no-op where the
 * architecture has no such mode). */
void iamp_fpenv_init(void);

/* 1 when the calling thread flushes subnormals. */
int iamp_fpenv_flushes(void);

#endif
