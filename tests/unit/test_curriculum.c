/* test_curriculum.c — the level rises only after a full window at or over
 * the threshold, starts a fresh window, and stops at the top. */
#include "coordinator/train/curriculum.h"

#include <criterion/criterion.h>

Test(curriculum, rises_after_full_window_over_threshold, .timeout = 10)
{
    struct iamp_curriculum c;
    iamp_curriculum_init(&c, 3, 0.85f, 3);
    cr_assert_eq(c.level, 1);
    cr_assert_eq(iamp_curriculum_update(&c, 0.95f), 0);
    cr_assert_eq(iamp_curriculum_update(&c, 0.95f), 0, "window not full yet");
    cr_assert_eq(iamp_curriculum_update(&c, 0.95f), 1);
    cr_assert_eq(c.level, 2);
    cr_assert_eq(c.n, 0, "a new level starts a new window");
}

Test(curriculum, mean_below_threshold_holds_the_level, .timeout = 10)
{
    struct iamp_curriculum c;
    iamp_curriculum_init(&c, 3, 0.85f, 3);
    iamp_curriculum_update(&c, 1.0f);
    iamp_curriculum_update(&c, 1.0f);
    cr_assert_eq(iamp_curriculum_update(&c, 0.5f), 0, "mean 0.833 < 0.85");
    cr_assert_eq(iamp_curriculum_update(&c, 1.0f), 0, "window 1,0.5,1: 0.833");
    cr_assert_eq(iamp_curriculum_update(&c, 1.0f), 0, "window 0.5,1,1: 0.833");
    cr_assert_eq(c.level, 1);
}

Test(curriculum, window_slides_and_stops_at_top, .timeout = 10)
{
    struct iamp_curriculum c;
    iamp_curriculum_init(&c, 2, 0.85f, 2);
    iamp_curriculum_update(&c, 0.1f);
    iamp_curriculum_update(&c, 0.9f);
    cr_assert_eq(c.level, 1, "mean 0.5");
    cr_assert_eq(iamp_curriculum_update(&c, 0.9f), 1, "0.1 slid out: mean 0.9");
    cr_assert_eq(c.level, 2);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(iamp_curriculum_update(&c, 1.0f), 0);
    cr_assert_eq(c.level, 2, "never above max_level");
    cr_assert_float_eq(iamp_curriculum_mean(&c), 1.0f, 1e-6);
}
