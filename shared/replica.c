#include "shared/replica.h"

/* Being written: see tasks/todo.md (issue 3). */
