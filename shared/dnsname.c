#include "shared/dnsname.h"
