/* rng.h — a small, seedable, serialisable random number generator.
 *
 * xoshiro256** seeded through splitmix64. Every random choice iamp makes
 * (parameter init, question sampling, answer sampling, shuffles) draws from
 * an explicit struct iamp_rng so runs are reproducible and checkpointable.
 * Not thread-safe: each owner has its own.
 */
#ifndef IAMP_RNG_H
#define IAMP_RNG_H

#include <stdint.h>

struct iamp_rng {
    uint64_t s[4];
};

/* Seed from a 64-bit value; `stream` separates independent streams drawn
 * from one seed (e.g. init vs sampling vs eval). */
void iamp_rng_seed(struct iamp_rng *r, uint64_t seed, uint64_t stream);
uint64_t iamp_rng_u64(struct iamp_rng *r);
/* Uniform in [0, n), unbiased; n > 0. */
uint32_t iamp_rng_below(struct iamp_rng *r, uint32_t n);
/* Uniform in [0, 1) with 53 bits. */
double iamp_rng_uniform(struct iamp_rng *r);
/* Standard normal (Box-Muller, one value per call). */
double iamp_rng_normal(struct iamp_rng *r);
/* Fisher-Yates shuffle of an int array. */
void iamp_rng_shuffle(struct iamp_rng *r, int *a, int n);

#endif
