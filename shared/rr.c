#include "shared/rr.h"
