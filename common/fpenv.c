/* fpenv.c — see fpenv.h. */
#include "common/fpenv.h"

#if defined(__x86_64__) || defined(__i386__)
#include <pmmintrin.h>
#include <xmmintrin.h>

void iamp_fpenv_init(void)
{
    _MM_SET_FLUSH_ZERO_MODE(_MM_FLUSH_ZERO_ON);
    _MM_SET_DENORMALS_ZERO_MODE(_MM_DENORMALS_ZERO_ON);
}

int iamp_fpenv_flushes(void)
{
    return _MM_GET_FLUSH_ZERO_MODE() == _MM_FLUSH_ZERO_ON &&
           _MM_GET_DENORMALS_ZERO_MODE() == _MM_DENORMALS_ZERO_ON;
}

#elif defined(__aarch64__)
#include <stdint.h>

#define FPCR_FZ (UINT64_C(1) << 24)

void iamp_fpenv_init(void)
{
    uint64_t fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    fpcr |= FPCR_FZ;
    __asm__ volatile("msr fpcr, %0" : : "r"(fpcr));
}

int iamp_fpenv_flushes(void)
{
    uint64_t fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    return (fpcr & FPCR_FZ) != 0;
}

#else
void iamp_fpenv_init(void) {}

int iamp_fpenv_flushes(void)
{
    return 0;
}
#endif
