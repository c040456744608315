/* simd.h — IAMP_VECTOR_CLONES: compile a hot elementwise loop once per
 * vector width (AVX-512, AVX2, the baseline) and pick the widest the CPU
 * has when the program starts (GCC/clang target_clones, an ifunc on
 * glibc). Only for loops whose every output element is computed by the
 * same operations in the same order whatever the width (no reductions
 * across lanes, no contraction into FMA: the build passes
 * -ffp-contract=off), so results do not depend on the machine.
 *
 * Name such functions uniquely across the program even when static: clang
 * (14) emits each one's ifunc resolver as a global `<name>.resolver`, so
 * two files with a static relu() fail to link together (mlp.c and
 * transformer.c did; the transformer's carry a tf_ prefix).
 */
#ifndef IAMP_SIMD_H
#define IAMP_SIMD_H

#if defined(__x86_64__) && defined(__gnu_linux__) && !defined(__SANITIZE_ADDRESS__) &&             \
    (defined(__clang__) ? __clang_major__ >= 14 : defined(__GNUC__))
#define IAMP_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define IAMP_VECTOR_CLONES
#endif

#endif
