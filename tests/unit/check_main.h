#pragma once

/*
 * Every unit test program defines make_suite() and links check_main.c, which
 * runs the suite and reports TAP on stdout (one line per case) to meson.
 */

#include <check.h>

Suite *make_suite(void);
