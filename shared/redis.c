#include "shared/redis.h"
