/* clock.h — monotonic wall time for measurements. */
#ifndef IAMP_CLOCK_H
#define IAMP_CLOCK_H

/* Seconds since an arbitrary monotonic start. */
double iamp_now(void);
/* Sleep for the given microseconds. */
void iamp_sleep_us(long us);

#endif
