/* crc32c.c — table-driven CRC-32C (reflected polynomial 0x82f63b78).
 * The table is built on first use; thread-safe under C11 call_once
 * semantics is not needed because building it twice gives the same table. */
#include "common/crc32c.h"

static uint32_t table[256];
static int table_ready;

static void build_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
        table[i] = c;
    }
    table_ready = 1;
}

uint32_t iamp_crc32c(uint32_t crc, const void *buf, size_t len)
{
    if (!table_ready)
        build_table();
    const uint8_t *p = buf;
    crc = ~crc;
    for (size_t i = 0; i < len; i++)
        crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}
