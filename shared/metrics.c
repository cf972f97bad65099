#include "shared/metrics.h"
