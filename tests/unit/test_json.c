/* test_json.c — the JSON checker: valid objects pass, every kind of
 * malformed text fails with the byte where it goes wrong, nesting is
 * bounded, and the outer object's own keys are found (not nested ones). */
#include "common/json.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check(const char *s, char *why)
{
    return iamp_json_check_object(s, strlen(s), NULL, 0, NULL, why, 256);
}

Test(json, accepts_objects)
{
    static const char *const ok[] = {
        "{}",
        " {\"a\":1} ",
        "{\"round\":1,\"examples\":256,\"accuracy\":null,\"loss\":0.5,\"kl\":-1.5e-3}",
        "{\"a\":[1,2,{\"b\":[true,false,null]}],\"c\":\"x\\\"y\\\\z\\u00e9\\n\"}",
        "{\"t\":\"caf\xc3\xa9 </script>\"}",
        "{\"n\":[0,-0,0.25,1E9,2e+3,-3.5E-2]}",
        "{\"e\":[],\"o\":{}}",
        "{\t\"a\" : 1 }",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char why[256] = "";
        cr_expect_eq(check(ok[i], why), 0, "%s: %s", ok[i], why);
    }
}

Test(json, refuses_what_is_not_one_json_object)
{
    static const struct {
        const char *text, *why;
    } bad[] = {
        {"", "byte 1: not a JSON object"},
        {"[1]", "byte 1: not a JSON object"},
        {"\"s\"", "byte 1: not a JSON object"},
        {"{\"a\":1", "expected ',' or '}'"},
        {"{\"a\" 1}", "byte 6: expected ':'"},
        {"{a:1}", "byte 2: expected a member name"},
        {"{\"a\":1,}", "byte 8: expected a member name"},
        {"{\"a\":[1,]}", "byte 9: not a JSON value"},
        {"{\"a\":01}", "byte 7: expected ',' or '}'"},
        {"{\"a\":1.}", "no digits after '.'"},
        {"{\"a\":1e}", "no digits in the exponent"},
        {"{\"a\":-}", "bad number"},
        {"{\"a\":NaN}", "not a JSON value"},
        {"{\"a\":nul}", "not a JSON value"},
        {"{\"a\":\"x}", "unterminated string"},
        {"{\"a\":\"\\x\"}", "bad escape"},
        {"{\"a\":\"\\u12g4\"}", "bad \\u escape"},
        {"{\"a\":1}{}", "byte 8: more after the object"},
        {"{\"a\":1} x", "more after the object"},
        {"{\"a\":\"\x01\"}", "control character"},
        {"{\"a\":\"\xff\"}", "not valid UTF-8"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char why[256] = "";
        cr_expect_eq(check(bad[i].text, why), IAMP_EPARSE, "%s passed", bad[i].text);
        cr_expect(strstr(why, bad[i].why), "%s: '%s' lacks '%s'", bad[i].text, why, bad[i].why);
    }
}

/* {"a": and levels - 1 arrays around nothing: levels containers deep. */
static char *nested(size_t levels)
{
    char *s = malloc(2 * levels + 16);
    cr_assert(s);
    strcpy(s, "{\"a\":");
    size_t n = strlen(s);
    for (size_t i = 0; i + 1 < levels; i++)
        s[n++] = '[';
    for (size_t i = 0; i + 1 < levels; i++)
        s[n++] = ']';
    strcpy(s + n, "}");
    return s;
}

Test(json, nesting_is_bounded)
{
    char why[256] = "";
    char *s = nested(IAMP_JSON_DEPTH_MAX);
    cr_expect_eq(check(s, why), 0, "%s", why);
    free(s);
    s = nested(IAMP_JSON_DEPTH_MAX + 1); /* refused, not a stack overflow */
    cr_expect_eq(check(s, why), IAMP_EPARSE);
    cr_expect(strstr(why, "nested too deep"), "%s", why);
    free(s);
    s = nested(100000);
    cr_expect_eq(check(s, why), IAMP_EPARSE);
    free(s);
}

Test(json, finds_the_outer_object_s_own_keys)
{
    static const char *const keys[] = {"round", "examples", "tree", "question"};
    const char *s = "{\"round\":3,\"x\":{\"examples\":1},\"tree\":{\"question\":\"q\"}}";
    unsigned found = 0;
    char why[256];
    cr_assert_eq(iamp_json_check_object(s, strlen(s), keys, 4, &found, why, sizeof(why)), 0);
    cr_expect_eq(found, 1u | 4u, "found %#x: nested keys do not count", found);
    const char *bad = "{\"round\":3,";
    cr_assert_eq(iamp_json_check_object(bad, strlen(bad), keys, 4, &found, why, sizeof(why)),
                 IAMP_EPARSE);
    cr_expect_eq(found, 0u, "nothing is found in text that fails");
}

Test(json, spans_find_the_outer_values)
{
    static const char s[] = "{\"q\": \"a\\\"b\\u00e9\\ud83d\\ude00\", \"x\": {\"q\": 1}, "
                            "\"n\": [1, -2,3 ], \"v\": 0.25, \"e\": []}";
    static const char *const keys[] = {"q", "n", "v", "e", "missing"};
    struct iamp_json_span sp[5] = {{0, 0}};
    unsigned found = 0;
    char why[256], out[64];
    long n[4];
    int len = 0;
    double v = 0;
    cr_assert_eq(iamp_json_object_spans(s, strlen(s), keys, 5, &found, sp, why, sizeof(why)), 0,
                 "%s", why);
    cr_assert_eq(found, 0xfu, "the nested \"q\" is not the outer one");
    cr_assert_eq(iamp_json_string_value(s, sp[0], out, sizeof(out)), 0);
    cr_assert_str_eq(out, "a\"b\xc3\xa9\xf0\x9f\x98\x80");
    cr_assert_eq(iamp_json_string_value(s, sp[0], out, 8), IAMP_ERANGE);
    cr_assert_eq(iamp_json_string_value(s, sp[1], out, sizeof(out)), IAMP_EPARSE);
    cr_assert_eq(iamp_json_int_list(s, sp[1], n, 4, &len), 0);
    cr_assert_eq(len, 3);
    cr_assert(n[0] == 1 && n[1] == -2 && n[2] == 3);
    cr_assert_eq(iamp_json_int_list(s, sp[1], n, 2, &len), IAMP_ERANGE);
    cr_assert_eq(iamp_json_int_list(s, sp[3], n, 4, &len), 0);
    cr_assert_eq(len, 0);
    cr_assert_eq(iamp_json_int_list(s, sp[0], n, 4, &len), IAMP_EPARSE);
    cr_assert_eq(iamp_json_number_value(s, sp[2], &v), 0);
    cr_assert_float_eq(v, 0.25, 1e-12);
    cr_assert_eq(iamp_json_number_value(s, sp[0], &v), IAMP_EPARSE);
}

Test(json, readers_refuse_what_they_cannot_represent)
{
    static const char *const bad[] = {"{\"a\": [1.5]}", "{\"a\": [1e3]}", "{\"a\": [\"1\"]}",
                                      "{\"a\": [1234567890123456789]}", "{\"a\": [[1]]}"};
    static const char *const keys[] = {"a"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct iamp_json_span sp[1];
        char why[256];
        long n[4];
        int len;
        cr_assert_eq(
            iamp_json_object_spans(bad[i], strlen(bad[i]), keys, 1, NULL, sp, why, sizeof(why)), 0);
        cr_assert_eq(iamp_json_int_list(bad[i], sp[0], n, 4, &len), IAMP_EPARSE, "%s", bad[i]);
    }
    static const char *const strings[] = {"{\"a\": \"\\ud83d\"}", "{\"a\": \"\\u0000\"}",
                                          "{\"a\": \"\\ude00x\"}"};
    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
        struct iamp_json_span sp[1];
        char why[256], out[32];
        cr_assert_eq(iamp_json_object_spans(strings[i], strlen(strings[i]), keys, 1, NULL, sp, why,
                                            sizeof(why)),
                     0);
        cr_assert_eq(iamp_json_string_value(strings[i], sp[0], out, sizeof(out)), IAMP_EPARSE, "%s",
                     strings[i]);
    }
}
