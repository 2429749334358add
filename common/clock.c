/* common/clock.c: time and randomness behind seams tests can move. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <openssl/rand.h>

#include "common/common.h"

static int64_t clock_offset_ms;
static uint64_t random_state = 0x9e3779b97f4a7c15ULL;

/* Tests of daily rules shift the clock through the environment; read it once. */
void
clock_init(void)
{
	const char *off = getenv("RECHARGD_CLOCK_OFFSET_S");
	uint64_t seed;

	if (off != NULL)
		clock_offset_ms = strtoll(off, NULL, 10) * 1000;
	if (random_bytes(&seed, sizeof seed) == 0 && seed != 0)
		random_state = seed;
}

int64_t
clock_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + clock_offset_ms;
}

int64_t
clock_now_s(void)
{
	return clock_now_ms() / 1000;
}

int64_t
clock_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
clock_mono_ms(void)
{
	return clock_mono_us() / 1000;
}

int
random_bytes(void *buf, size_t len)
{
	return RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}

/* xorshift64*: simulations only, never secrets. */
uint32_t
random_below(uint32_t n)
{
	uint64_t x = random_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	random_state = x;
	return n == 0 ? 0 : (uint32_t)((x * 0x2545F4914F6CDD1DULL) >> 32) % n;
}

/* India has no daylight saving: Asia/Kolkata is UTC+05:30 all year. */
char *
clock_format_ist(int64_t epoch_s, char *buf)
{
	time_t t = (time_t)(epoch_s + 19800);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%S+05:30", &tm);
	return buf;
}
