#pragma once

/*
 * The shipped list of common passwords, compiled in from
 * services/user/common-passwords.txt by gen-common-passwords.py at build
 * time: lower case, printable ASCII, sorted in strcmp() order for bsearch().
 */

#include <stddef.h>

extern const char *const common_passwords[];
extern const size_t common_passwords_count;
extern const size_t common_passwords_maxlen; /* bytes of the longest entry */
