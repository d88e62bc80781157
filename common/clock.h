/* The process's two clocks.  Monotonic time measures intervals (timeouts,
 * rates, media pacing) and never jumps; wall time (Unix epoch) is for what
 * people read and what is stored: timestamps in the database, messages and
 * files. */
#ifndef SC_CLOCK_H
#define SC_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in microseconds / milliseconds. */
uint64_t sc_mono_us(void);
uint64_t sc_mono_ms(void);
/* CLOCK_REALTIME in milliseconds since 1970-01-01 UTC. */
int64_t sc_wall_ms(void);

#endif
