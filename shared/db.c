#include "shared/db.h"
