/* crc32c.h — CRC-32C (Castagnoli), as used by iamp's checkpoint files and
 * journal records to detect torn or corrupted bytes. */
#ifndef IAMP_CRC32C_H
#define IAMP_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extend crc (start with 0) over buf. */
uint32_t iamp_crc32c(uint32_t crc, const void *buf, size_t len);

#endif
