/* clock.h — monotonic time for measurements and time-outs, and calendar
 * time for what people read (a job's acceptance and end). */
#ifndef IAMP_CLOCK_H
#define IAMP_CLOCK_H

#include <stdint.h>

/* Seconds since an arbitrary monotonic start. */
double iamp_now(void);
/* Unix time (CLOCK_REALTIME) in milliseconds. */
uint64_t iamp_unix_ms(void);
/* Sleep for the given microseconds. */
void iamp_sleep_us(long us);

#endif
