/* test_common.c — error table, RNG, spec parsing, CRC-32C, atomic files. */
#include "common/crc32c.h"
#include "common/error.h"
#include "common/fileio.h"
#include "common/rng.h"
#include "tasks/task.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

Test(error, every_code_has_a_distinct_message, .timeout = 10)
{
    for (int e = IAMP_E_FIRST_ + 1; e < IAMP_E_LAST_; e++) {
        cr_assert_neq(strcmp(iamp_strerror(e), "unknown error"), 0, "code %d", e);
        for (int f = e + 1; f < IAMP_E_LAST_; f++)
            cr_assert_neq(strcmp(iamp_strerror(e), iamp_strerror(f)), 0);
    }
    cr_assert_str_eq(iamp_strerror(12345), "unknown error");
}

Test(rng, same_seed_same_stream_other_stream_differs, .timeout = 10)
{
    struct iamp_rng a, b, c;
    iamp_rng_seed(&a, 7, 1);
    iamp_rng_seed(&b, 7, 1);
    iamp_rng_seed(&c, 7, 2);
    int same = 1, differ = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = iamp_rng_u64(&a), y = iamp_rng_u64(&b), z = iamp_rng_u64(&c);
        same &= x == y;
        differ += x != z;
    }
    cr_assert(same);
    cr_assert_gt(differ, 90);
}

Test(rng, below_is_uniform, .timeout = 10)
{
    struct iamp_rng r;
    iamp_rng_seed(&r, 1, 0);
    long count[7] = {0};
    for (int i = 0; i < 70000; i++)
        count[iamp_rng_below(&r, 7)]++;
    double chi = 0.0;
    for (int v = 0; v < 7; v++)
        chi += (count[v] - 10000.0) * (count[v] - 10000.0) / 10000.0;
    cr_assert_lt(chi, 22.46, "chi-square %.2f (df 6, p 0.001)", chi);
}

Test(rng, normal_has_unit_moments, .timeout = 10)
{
    struct iamp_rng r;
    iamp_rng_seed(&r, 3, 0);
    double s = 0, s2 = 0;
    for (int i = 0; i < 100000; i++) {
        double x = iamp_rng_normal(&r);
        s += x;
        s2 += x * x;
    }
    cr_assert_float_eq(s / 1e5, 0.0, 0.02);
    cr_assert_float_eq(s2 / 1e5, 1.0, 0.02);
}

Test(spec, parses_name_and_parameters, .timeout = 10)
{
    struct iamp_spec s;
    char err[128];
    cr_assert_eq(iamp_spec_parse("permpow:n=64,seed=7", &s, err, sizeof(err)), 0);
    cr_assert_str_eq(s.name, "permpow");
    cr_assert_eq(s.n_params, 2);
    cr_assert_str_eq(iamp_spec_get(&s, "seed"), "7");
    cr_assert_null(iamp_spec_get(&s, "kmax"));
    long v;
    cr_assert_eq(iamp_spec_int(&s, "n", 1, 2, 100, &v, err, sizeof(err)), 0);
    cr_assert_eq(v, 64);
    cr_assert_eq(iamp_spec_int(&s, "n", 1, 2, 10, &v, err, sizeof(err)), IAMP_ERANGE);
    cr_assert_eq(iamp_spec_int(&s, "absent", 5, 0, 10, &v, err, sizeof(err)), 0);
    cr_assert_eq(v, 5);
}

Test(spec, rejects_malformed_specs, .timeout = 10)
{
    static const char *const bad[] = {
        "",       ":n=1",       "p:",
        "p:n",    "p:=1",       "p:n=",
        "p:n=1,", "p:n=1,,m=2", "p:a=1,b=2,c=3,d=4,e=5,f=6,g=7,h=8,i=9"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct iamp_spec s;
        char err[128] = "";
        cr_assert_neq(iamp_spec_parse(bad[i], &s, err, sizeof(err)), 0, "accepted '%s'", bad[i]);
        cr_assert_gt(strlen(err), 0);
    }
}

Test(crc32c, matches_known_vectors, .timeout = 10)
{
    cr_assert_eq(iamp_crc32c(0, "123456789", 9), 0xe3069283u);
    cr_assert_eq(iamp_crc32c(0, "", 0), 0u);
    uint32_t part = iamp_crc32c(0, "12345", 5);
    cr_assert_eq(iamp_crc32c(part, "6789", 4), 0xe3069283u, "incremental");
    /* RFC 3720 B.4: 32 bytes of zeros, of ones, ascending (eight-byte steps). */
    uint8_t b[32];
    memset(b, 0, sizeof(b));
    cr_assert_eq(iamp_crc32c(0, b, 32), 0x8a9136aau);
    memset(b, 0xff, sizeof(b));
    cr_assert_eq(iamp_crc32c(0, b, 32), 0x62a8ab43u);
    for (int i = 0; i < 32; i++)
        b[i] = (uint8_t)i;
    cr_assert_eq(iamp_crc32c(0, b, 32), 0x46dd794eu);
    /* Any split of a buffer gives the whole's value. */
    uint32_t whole = iamp_crc32c(0, b, 32);
    for (int cut = 0; cut <= 32; cut++)
        cr_assert_eq(iamp_crc32c(iamp_crc32c(0, b, (size_t)cut), b + cut, (size_t)(32 - cut)),
                     whole, "cut %d", cut);
}

Test(fileio, atomic_write_replaces_and_leaves_no_temp, .timeout = 10)
{
    char dir[] = "/tmp/iamp_io_XXXXXX", path[256];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/f", dir);
    cr_assert_eq(iamp_file_write_atomic(path, "one", 3), 0);
    cr_assert_eq(iamp_file_write_atomic(path, "second", 6), 0);
    uint8_t *buf;
    size_t len;
    cr_assert_eq(iamp_file_read(path, 100, &buf, &len), 0);
    cr_assert_eq(len, 6);
    cr_assert_eq(memcmp(buf, "second", 6), 0);
    free(buf);
    cr_assert_eq(iamp_file_read(path, 3, &buf, &len), IAMP_ELIMIT);
    cr_assert_eq(iamp_file_read("/nonexistent/x", 3, &buf, &len), IAMP_ENOENT);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "test $(ls %s | wc -l) -eq 1", dir);
    cr_assert_eq(system(cmd), 0, "a temp file was left behind");
    unlink(path);
    rmdir(dir);
}
