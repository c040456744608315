/* crc32c.c — CRC-32C (Castagnoli, reflected polynomial 0x82f63b78): the
 * SSE4.2 crc32 instruction where the CPU has it (eight bytes a step; the
 * journal, result files and checkpoints are checksummed with it), else a
 * table, built once (pthread_once: the server's threads may ask first at
 * the same time). Both give the same values. */
#include "common/crc32c.h"

#include <pthread.h>
#include <string.h>

static uint32_t table[256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void build_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
        table[i] = c;
    }
}

static uint32_t crc_table(uint32_t crc, const uint8_t *p, size_t len)
{
    pthread_once(&table_once, build_table);
    for (size_t i = 0; i < len; i++)
        crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>

__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t crc, const uint8_t *p, size_t len)
{
    uint64_t c = crc;
    for (; len >= 8; p += 8, len -= 8) {
        uint64_t v;
        memcpy(&v, p, sizeof(v));
        c = _mm_crc32_u64(c, v);
    }
    uint32_t c32 = (uint32_t)c;
    for (; len > 0; p++, len--)
        c32 = _mm_crc32_u8(c32, *p);
    return c32;
}

static int have_hw(void)
{
    static int known = -1; /* benign race: every thread computes the same */
    if (known < 0)
        known = __builtin_cpu_supports("sse4.2") ? 1 : 0;
    return known;
}
#else
static uint32_t crc_hw(uint32_t crc, const uint8_t *p, size_t len)
{
    return crc_table(crc, p, len);
}

static int have_hw(void)
{
    return 0;
}
#endif

uint32_t iamp_crc32c(uint32_t crc, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    crc = ~crc;
    crc = have_hw() ? crc_hw(crc, p, len) : crc_table(crc, p, len);
    return ~crc;
}
