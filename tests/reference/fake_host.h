/*
 * fake_host.h - a host-services table for driving the reference plugin
 * without libmha: counted malloc wrappers, an optional failure of the N-th
 * allocation, and set_error keeping the last status and message.
 */
#ifndef MHA_TEST_FAKE_HOST_H
#define MHA_TEST_FAKE_HOST_H

#include "mha/plugin.h"

extern const mha_host_services fake_host;

/* Forgets counters, failure plan and message. */
void fake_host_reset(void);
/* The n-th allocation from now (1-based) returns NULL; 0 = none fails. */
void fake_host_fail_at(long n);
/* Allocations made since the last reset, and those not yet freed. */
long fake_host_allocations(void);
long fake_host_live(void);
/* The last set_error call ("" and MHA_STATUS_OK if none since the reset). */
const char *fake_host_message(void);
mha_status fake_host_status(void);

/* cmocka fixtures: a setup that resets the fake host, and a teardown that
 * fails the test if any allocation is still live. */
int fake_host_setup(void **state);
int fake_host_check_no_leak(void **state);

#endif /* MHA_TEST_FAKE_HOST_H */
