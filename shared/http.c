#include "shared/http.h"
